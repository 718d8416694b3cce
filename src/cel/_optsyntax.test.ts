import assert from "node:assert/strict";
import { test } from "node:test";
import { plan } from "@bufbuild/cel";
import { compile } from "./_compile.ts";
import { kubeEnv } from "./_env.ts";
import { optionalOf } from "./_opaque.ts";
import { parseCel, rewriteOptionalSyntax } from "./_optsyntax.ts";
import { type CelSchema, declTypeOf } from "./_types.ts";
import { toCel } from "./_values.ts";

const run = (source: string, bindings: Record<string, unknown> = {}) =>
  plan(kubeEnv(), parseCel(source))(bindings as never);

test("rewriteOptionalSyntax leaves expressions without optional syntax as they are", () => {
  for (const source of [
    "a ? b : c",
    "x[0] + [1, 2][1]",
    "{'k': a ? 1 : 2}",
    "'.?' + \"[?\" + r'{?' + '''a.?b'''",
    "a // .? [? in a comment\n+ 1",
    "b'[?'.size() == 2",
  ]) {
    const r = rewriteOptionalSyntax(source);
    assert.equal(r.changed, false, source);
    assert.equal(r.text, source);
  }
});

test("the optional syntax evaluates as cel-go evaluates it", () => {
  const cases: Array<[string, unknown]> = [
    ["{'a': {'b': 1}}.?a.?b.orValue(0)", 1n],
    ["{'a': {}}.?a.?b.orValue(7)", 7n],
    ["{}.?a.b.hasValue()", false],
    ["has({'x': {'y': 'z'}}.?x.y)", true],
    ["has({}.?x.y)", false],
    ["[1, 2][?5].orValue(9)", 9n],
    ["['foo'][?0].value()", "foo"],
    ["{'c': {'d-e': 'f'}}.c[?'d-e'].orValue('none')", "f"],
    ["[?{}.?c, ?optional.of(42), ?optional.none()] == [42]", true],
    ["[1, ?optional.of(2), 3].size()", 3n],
    ["{?'k': optional.none(), 'j': 1} == {'j': 1}", true],
    ["{?'k': optional.of(2), 'j': 1} == {'k': 2, 'j': 1}", true],
    ["{?true ? 'k' : 'l': optional.of(2)} == {'k': 2}", true],
    ["optional.of(42).optMap(y, y + 1).value()", 43n],
    ["optional.none().optMap(y, y + 1).hasValue()", false],
    ["{'k': {'s': 'v'}}.?k.optFlatMap(k, k.?s).value()", "v"],
    ["optional.of({'c': {}}).c.missing.orValue('d')", "d"],
    ["'a.?b' + \"[?\" == 'a.?b[?'", true],
    ["true ? 1 : 2", 1n],
  ];
  for (const [source, want] of cases) assert.deepEqual(run(source), want, source);
});

const SPEC: CelSchema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer" },
        labels: { type: "object", additionalProperties: { type: "string" } },
      },
    },
  },
};
const VARS = new Map([["self", declTypeOf(SPEC)]]);

test("compile checks fields through the optional syntax and evaluates on custom resources", () => {
  const ok = compile("self.?spec.?replicas.orValue(1) >= 1", VARS, "bool");
  assert.ok(ok.ok);
  const value = (spec: unknown) => toCel({ spec }, declTypeOf(SPEC));
  assert.equal(ok.program.eval({ self: value({ replicas: 3 }) as never }), true);
  assert.equal(ok.program.eval({ self: value({}) as never }), true);
  assert.equal(ok.program.eval({ self: value({ replicas: 0 }) as never }), false);

  const labels = compile("self.spec.labels[?'app'].orValue('') == 'web'", VARS, "bool");
  assert.ok(labels.ok);
  assert.equal(labels.program.eval({ self: value({ labels: { app: "web" } }) as never }), true);

  assert.deepEqual(compile("self.?spec.?replicaz.hasValue()", VARS, "bool"), {
    ok: false,
    error:
      "ERROR: <input>:1:11: undefined field 'replicaz'\n | self.?spec.?replicaz.hasValue()\n | ..........^",
  });
  const syntax = compile("self.?spec &&", VARS, "bool");
  assert.equal(syntax.ok, false);
  assert.match(syntax.ok ? "" : syntax.error, /^ERROR: <input>:1:12: Syntax error: /);
});

test("an optionalOldSelf value takes the optional syntax", () => {
  const c = compile(
    "oldSelf.?spec.?replicas.orValue(0) <= 5",
    new Map([["oldSelf", declTypeOf(SPEC)]]),
  );
  assert.ok(c.ok);
  assert.equal(c.program.eval({ oldSelf: optionalOf(undefined) as never }), true);
});
