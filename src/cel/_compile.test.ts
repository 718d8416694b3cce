import assert from "node:assert/strict";
import { test } from "node:test";
import { compile } from "./_compile.ts";
import { costExceedsMessage } from "./_cost.ts";
import { type CelSchema, declTypeOf } from "./_types.ts";
import { actualType, parseGoDuration, toCel } from "./_values.ts";

const SPEC: CelSchema = {
  type: "object",
  properties: {
    replicas: { type: "integer" },
    name: { type: "string", maxLength: 10 },
    tags: { type: "array", maxItems: 5, items: { type: "string", maxLength: 8 } },
    free: { type: "array", items: { type: "string" } },
    labels: { type: "object", additionalProperties: { type: "string" } },
    when: { type: "string", format: "date-time" },
    timeout: { type: "string", format: "duration" },
    port: { "x-kubernetes-int-or-string": true },
  },
};
const T = declTypeOf(SPEC);
const VARS = new Map([["self", T]]);

test("compile errors are reported as cel-go reports them", () => {
  const cases: Array<[string, string]> = [
    ["self.nope > 0", "ERROR: <input>:1:5: undefined field 'nope'\n | self.nope > 0\n | ....^"],
    [
      "other == 1",
      "ERROR: <input>:1:1: undeclared reference to 'other' (in container '')\n | other == 1\n | ^",
    ],
    [
      "self.replicas > 'x'",
      "ERROR: <input>:1:15: found no matching overload for '_>_' applied to '(int, string)'\n | self.replicas > 'x'\n | ..............^",
    ],
    [
      "nothing(1)",
      "ERROR: <input>:1:1: undeclared reference to 'nothing' (in container '')\n | nothing(1)\n | ^",
    ],
    ["self.replicas", "result type int is not bool"],
  ];
  for (const [src, want] of cases) {
    const c = compile(src, VARS, "bool");
    assert.equal(c.ok, false, src);
    if (!c.ok) assert.equal(c.error, want, src);
  }
  const syntax = compile("self.replicas +", VARS, "bool");
  assert.ok(!syntax.ok && syntax.error.startsWith("ERROR: <input>:1:15: Syntax error:"));
});

test("schema values become CEL values by type: ints, timestamps, durations, int-or-string", () => {
  const obj = {
    replicas: 3,
    name: "web",
    tags: ["a", "b"],
    labels: { app: "x" },
    when: "2030-01-01T00:00:00Z",
    timeout: "1m30s",
    port: "http",
  };
  const self = toCel(obj, T);
  const cases: Array<[string, boolean]> = [
    ["self.replicas == 3", true],
    ["self.tags.size() == 2 && 'b' in self.tags", true],
    ["self.labels.app == 'x' && !has(self.labels.other)", true],
    ["self.when > timestamp('2029-12-31T00:00:00Z')", true],
    ["self.timeout == duration('90s')", true],
    ["self.port == 'http'", true],
  ];
  for (const [src, want] of cases) {
    const c = compile(src, VARS, "bool");
    assert.ok(c.ok, src);
    if (c.ok) assert.equal(c.program.eval({ self }), want, src);
  }
  const missing = compile("self.name == 'x'", VARS, "bool");
  assert.ok(missing.ok);
  if (missing.ok)
    assert.equal(
      (missing.program.eval({ self: toCel({}, T) }) as Error).message,
      "no such key: name",
    );
});

test("the estimated cost follows the schema's bounds and the actual cost the value's sizes", () => {
  const cost = (src: string) => {
    const c = compile(src, VARS, "bool");
    assert.ok(c.ok, src);
    return c.ok ? c.program : undefined;
  };
  const bounded = cost("self.tags.all(t, t.startsWith('a'))");
  const unbounded = cost("self.free.all(t, t.startsWith('a'))");
  assert.ok(bounded && unbounded);
  assert.ok(bounded.maxCost < 100, `bounded: ${bounded.maxCost}`);
  assert.ok(unbounded.maxCost > 10_000_000, `unbounded: ${unbounded.maxCost}`);
  const nested = cost("self.free.all(a, self.free.all(b, a == b))");
  assert.ok(nested && nested.maxCost > 100 * 10_000_000);
  const actual = unbounded.costWith(new Map([["self", actualType({ free: ["a", "b"] }, T)]]));
  assert.ok(actual < 50, `actual: ${actual}`);
});

test("cost messages read as kube's", () => {
  assert.equal(
    costExceedsMessage("estimated rule cost", 2e9, 1e7),
    "estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
  );
  assert.match(costExceedsMessage("x", 1.2e7, 1e7), /factor of 1\.200000x/);
  assert.match(costExceedsMessage("x", 2.5e7, 1e7), /factor of 2\.5x/);
});

test("Go durations parse as time.ParseDuration", () => {
  assert.equal(parseGoDuration("1h30m"), 5_400_000_000_000n);
  assert.equal(parseGoDuration("-1.5s"), -1_500_000_000n);
  assert.equal(parseGoDuration("300ms"), 300_000_000n);
  assert.equal(parseGoDuration("1x"), undefined);
});
