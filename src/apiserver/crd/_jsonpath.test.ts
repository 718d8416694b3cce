import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateJsonPath, parseJsonPath } from "./_jsonpath.ts";

const DOC = {
  spec: { replicas: 3, "dotted.key": "d", list: [{ n: 1 }, { n: 2 }] },
  status: {
    conditions: [
      { type: "Ready", status: "True" },
      { type: "Synced", status: "False" },
    ],
  },
};

test("evaluateJsonPath selects what kubectl's JSONPath selects for printer columns", () => {
  const cases: Array<[string, unknown[]]> = [
    [".spec.replicas", [3]],
    ["{.spec.replicas}", [3]],
    ["$.spec.replicas", [3]],
    [".spec.missing", []],
    [".spec['dotted.key']", ["d"]],
    [".spec.list[1].n", [2]],
    [".spec.list[-1].n", [2]],
    [".spec.list[*].n", [1, 2]],
    ['.status.conditions[?(@.type=="Ready")].status', ["True"]],
    [".status.conditions[?(@.type!='Ready')].type", ["Synced"]],
  ];
  for (const [path, want] of cases)
    assert.deepEqual(evaluateJsonPath(DOC, parseJsonPath(path)), want, path);
});

test("parseJsonPath refuses what it does not support", () => {
  for (const path of [".spec.list[", "spec", ".spec[?(@.a > 1)]"]) {
    assert.throws(() => parseJsonPath(path), Error, path);
  }
});
