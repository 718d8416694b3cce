import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./json.ts";

function deploy(): KubeObject {
  return {
    metadata: { name: "web", annotations: { a: "1" } },
    spec: { replicas: 2, template: { spec: { containers: [{ name: "web", image: "v1" }] } } },
  };
}

describe("applyJsonPatch", () => {
  const ok: Array<[string, unknown, (o: KubeObject) => unknown, unknown]> = [
    [
      "replaces a value",
      [{ op: "replace", path: "/spec/replicas", value: 5 }],
      (o) => (o.spec as { replicas: number }).replicas,
      5,
    ],
    [
      "adds to the end of a list with -",
      [{ op: "add", path: "/spec/template/spec/containers/-", value: { name: "b" } }],
      (o) =>
        (o.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers
          .length,
      2,
    ],
    [
      "removes a key and passes a holding test",
      [
        { op: "test", path: "/metadata/annotations/a", value: "1" },
        { op: "remove", path: "/metadata/annotations/a" },
      ],
      (o) => o.metadata.annotations,
      {},
    ],
    [
      "replaces a whole template as rollout undo does",
      [{ op: "replace", path: "/spec/template", value: { spec: { containers: [] } } }],
      (o) => (o.spec as { template: unknown }).template,
      { spec: { containers: [] } },
    ],
  ];
  for (const [name, patch, pick, want] of ok) {
    it(name, () => {
      const original = deploy();
      const before = structuredClone(original);
      assert.deepEqual(pick(applyJsonPatch(original, patch)), want);
      assert.deepEqual(original, before);
    });
  }

  it("accepts the patch as JSON text", () => {
    const out = applyJsonPatch(deploy(), '[{"op":"replace","path":"/spec/replicas","value":1}]');
    assert.equal((out.spec as { replicas: number }).replicas, 1);
  });

  const failing: Array<[string, unknown, number, string]> = [
    [
      "a body that is not a list",
      { op: "add" },
      400,
      "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    ],
    ["malformed JSON", "[", 400, ""],
    [
      "a failed test",
      [{ op: "test", path: "/spec/replicas", value: 3 }],
      422,
      "testing value /spec/replicas failed: test failed",
    ],
    [
      "a replace of a missing key",
      [{ op: "replace", path: "/spec/nope", value: 1 }],
      422,
      "replace operation does not apply: doc is missing key: /spec/nope: missing value",
    ],
    [
      "a remove of a missing path",
      [{ op: "remove", path: "/spec/nope/x" }],
      422,
      'remove operation does not apply: doc is missing path: "/spec/nope/x": missing value',
    ],
    [
      "an unknown op",
      [{ op: "frob", path: "/spec" }],
      422,
      "Unexpected kind: frob: unknown object type",
    ],
  ];
  for (const [name, patch, code, cause] of failing) {
    it(`answers ${code} for ${name}`, () => {
      assert.throws(
        () => applyJsonPatch(deploy(), patch),
        (e: unknown) => {
          assert.ok(isStatusError(e));
          assert.equal(e.code, code);
          if (code === 422) {
            assert.equal(e.reason, "Invalid");
            assert.equal(
              e.message,
              "the server rejected our request due to an error in our request",
            );
            assert.deepEqual(e.details?.causes, [
              { reason: "UnexpectedServerResponse", message: cause },
            ]);
          } else if (cause) {
            assert.equal(e.message, cause);
          }
          return true;
        },
      );
    });
  }

  it("answers 413 past the operation limit", () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({
      op: "test",
      path: "/spec/replicas",
      value: 2,
    }));
    assert.throws(
      () => applyJsonPatch(deploy(), ops),
      (e: unknown) => isStatusError(e) && e.code === 413,
    );
  });
});

describe("applyJsonPatch with a __proto__ map key (valid in a ConfigMap's data)", () => {
  const cm = (): KubeObject =>
    JSON.parse('{"metadata":{"name":"c"},"data":{"__proto__":"x","a":"b"}}') as KubeObject;
  const cases: Array<[string, unknown, string]> = [
    [
      "adds it",
      [{ op: "add", path: "/data/__proto__", value: "y" }],
      '{"metadata":{"name":"c"},"data":{"__proto__":"y","a":"b"}}',
    ],
    [
      "removes it",
      [{ op: "remove", path: "/data/__proto__" }],
      '{"metadata":{"name":"c"},"data":{"a":"b"}}',
    ],
    [
      "moves it, and tests it",
      [
        { op: "test", path: "/data/__proto__", value: "x" },
        { op: "move", from: "/data/__proto__", path: "/data/c" },
      ],
      '{"metadata":{"name":"c"},"data":{"a":"b","c":"x"}}',
    ],
    [
      "adds a value that holds it",
      JSON.parse('[{"op":"add","path":"/data","value":{"__proto__":"z"}}]'),
      '{"metadata":{"name":"c"},"data":{"__proto__":"z"}}',
    ],
    [
      "keeps it when the patch touches other keys",
      [{ op: "add", path: "/data/d", value: "e" }],
      '{"metadata":{"name":"c"},"data":{"__proto__":"x","a":"b","d":"e"}}',
    ],
  ];
  for (const [name, patch, want] of cases) {
    it(name, () => {
      const out = applyJsonPatch(cm(), patch);
      assert.equal(JSON.stringify(out), want);
      assert.equal(Object.getPrototypeOf(out.data), Object.prototype);
    });
  }
});
