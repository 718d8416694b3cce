import assert from "node:assert/strict";
import { test } from "node:test";
import { type JsonSchema, pruneAndDefault, validateSchema } from "./_schema.ts";

const SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", maxLength: 5, pattern: "^[a-z]+$" },
        size: { type: "integer", minimum: 1, default: 2 },
        mode: { type: "string", enum: ["a", "b"] },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", maxItems: 1, items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        template: { type: "object", "x-kubernetes-embedded-resource": true, properties: {} },
      },
    },
  },
};

test("pruneAndDefault drops undeclared fields, keeps preserved ones and fills defaults", () => {
  const obj = {
    apiVersion: "x/v1",
    kind: "X",
    metadata: { name: "n", anything: 1 },
    extra: 1,
    spec: {
      name: "a",
      other: 1,
      free: { deep: { x: 1 } },
      labels: { k: "v" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} },
    },
  };
  const out: string[] = [];
  pruneAndDefault(obj, SCHEMA, true, { path: "", out });
  assert.deepEqual(obj, {
    apiVersion: "x/v1",
    kind: "X",
    metadata: { name: "n", anything: 1 },
    spec: {
      name: "a",
      size: 2,
      free: { deep: { x: 1 } },
      labels: { k: "v" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } },
    },
  });
  assert.deepEqual(out, ["extra", "spec.other", "spec.template.spec"]);
});

test("validateSchema reports kube's field paths and messages", () => {
  const cases: Array<[unknown, string[]]> = [
    [{ name: "ok", size: 3, mode: "a", port: 80, tags: ["x"] }, []],
    [{ name: "ok", port: "http" }, []],
    [{}, ["spec.name: Required value"]],
    [
      { name: 3 },
      ['spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"'],
    ],
    [{ name: "toolong" }, ["spec.name: Too long: may not be more than 5 bytes"]],
    [{ name: "A" }, [`spec.name: Invalid value: "A": spec.name in body should match '^[a-z]+$'`]],
    [
      { name: "a", size: 0 },
      ["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"],
    ],
    [{ name: "a", mode: "c" }, ['spec.mode: Unsupported value: "c": supported values: "a", "b"']],
    [
      { name: "a", port: true },
      [
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
      ],
    ],
    [{ name: "a", tags: ["x", "y"] }, ["spec.tags: Too many: 2: must have at most 1 items"]],
    [
      { name: "a", labels: { k: 1 } },
      [
        'spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer"',
      ],
    ],
  ];
  for (const [spec, want] of cases) {
    const got = validateSchema({ apiVersion: "x/v1", kind: "X", metadata: {}, spec }, SCHEMA).map(
      (e) => `${e.field}: ${e.message}`,
    );
    assert.deepEqual(got, want, JSON.stringify(spec));
  }
});
