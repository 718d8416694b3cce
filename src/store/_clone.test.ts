import assert from "node:assert/strict";
import { test } from "node:test";
import { cloneJson, internStrings } from "./_clone.ts";

const cases: Array<[string, unknown]> = [
  [
    "a Kubernetes object",
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "a", labels: { x: "y" } },
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    },
  ],
  ["scalars", { s: "x", n: 1.5, z: 0, t: true, f: false, nil: null, neg: -3 }],
  [
    "undefined, functions and symbols dropped or nulled",
    { u: undefined, fn: () => 1, sym: Symbol("s"), arr: [undefined, () => 1, Symbol("s"), 1] },
  ],
  [
    "non-finite numbers",
    { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: [Number.NEGATIVE_INFINITY] },
  ],
  ["a Date", { when: new Date(0) }],
  ["nested arrays and empty containers", { a: [[1, [2]], {}, []], o: {} }],
  [
    "a class instance",
    {
      inst: new (class {
        x = 1;
        y = undefined;
      })(),
    },
  ],
  ["a top-level array", [1, "a", { b: 2 }]],
  ["a top-level string", "x"],
  [
    "a __proto__ key (a valid ConfigMap data key), as a string and as an object",
    JSON.parse('{"data":{"__proto__":"x","a":"b"},"spec":{"__proto__":{"polluted":true}}}'),
  ],
];

for (const [name, value] of cases) {
  test(`cloneJson matches the JSON round trip for ${name}`, () => {
    const clone = cloneJson(value);
    assert.deepStrictEqual(clone, JSON.parse(JSON.stringify(value)));
    if (typeof value === "object" && value !== null) assert.notEqual(clone, value);
  });
}

test("cloneJson copies deeply: changing the copy leaves the original alone", () => {
  const original = { metadata: { labels: { a: "1" } }, list: [{ v: 1 }] };
  const clone = cloneJson(original);
  clone.metadata.labels.a = "2";
  clone.list[0]!.v = 2;
  assert.deepEqual(original, { metadata: { labels: { a: "1" } }, list: [{ v: 1 }] });
});

test("cloneJson refuses a cycle", () => {
  const a: Record<string, unknown> = {};
  a["self"] = a;
  assert.throws(() => cloneJson(a), RangeError);
});

test("interning strings leaves every value as it was: arrays, nested objects, long strings", () => {
  // Whether equal strings became one instance is not observable from JS, only in memory (the
  // scale bench's heap figures); here: the values survive, in both the copy and the in-place walk.
  const text = JSON.stringify({ a: ["True", "Running"], b: { c: "True" }, long: "x".repeat(100) });
  const one = cloneJson(JSON.parse(text));
  const two = internStrings(JSON.parse(text));
  assert.deepEqual(one, JSON.parse(text));
  assert.deepEqual(two, JSON.parse(text));
  assert.deepEqual(internStrings(two), JSON.parse(text));
});

test("cloneJson keeps a __proto__ key as an own property and never sets a prototype", () => {
  const value = JSON.parse('{"data":{"__proto__":{"polluted":true}}}') as {
    data: Record<string, unknown>;
  };
  const clone = cloneJson(value);
  assert.deepEqual(Object.keys(clone.data), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(clone.data), Object.prototype);
  assert.equal((clone.data as { polluted?: unknown }).polluted, undefined);
  assert.equal(JSON.stringify(clone), JSON.stringify(value));
});
