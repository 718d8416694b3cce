import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { applyMergePatch, mergePatchValue } from "./merge.ts";

describe("mergePatchValue follows RFC 7386", () => {
  // The examples of RFC 7386 appendix A.
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)} = ${JSON.stringify(want)}`, () => {
      assert.deepEqual(mergePatchValue(target, patch), want);
    });
  }
});

describe("applyMergePatch", () => {
  it("applies kubectl scale and label removal without touching the original", () => {
    const original: KubeObject = {
      metadata: { name: "w", labels: { a: "1", b: "2" } },
      spec: { replicas: 1 },
    };
    const before = structuredClone(original);
    const out = applyMergePatch(
      original,
      '{"spec":{"replicas":4},"metadata":{"labels":{"a":null}}}',
    );
    assert.deepEqual(out, { metadata: { name: "w", labels: { b: "2" } }, spec: { replicas: 4 } });
    assert.deepEqual(original, before);
  });

  it("answers 400 Invalid JSON Patch to a patch that is not an object", () => {
    for (const bad of ["[1]", "{", 3]) {
      assert.throws(
        () => applyMergePatch({ metadata: {} }, bad),
        (e: unknown) => isStatusError(e, "BadRequest") && e.message === "Invalid JSON Patch",
      );
    }
  });
});
