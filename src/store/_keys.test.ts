import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { prefixEnd, type RangeOptions, SortedMap } from "./_keys.ts";

/** A deterministic PRNG so that a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The keys of a range (values are "v" + key), checking that lastKey is the last of them. */
function rangeKeys(set: SortedMap<string>, prefix: string, options: RangeOptions = {}): string[] {
  const { values, lastKey } = set.range(prefix, options);
  const keys = values.map((v) => v.slice(1));
  assert.equal(lastKey, keys[keys.length - 1]);
  return keys;
}

describe("prefixEnd", () => {
  const cases: Array<[string, string | undefined]> = [
    ["/pods/", "/pods0"],
    ["a", "b"],
    ["", undefined],
    ["a\uffff", "b"],
    ["\uffff\uffff", undefined],
  ];
  for (const [prefix, want] of cases) {
    test(`prefixEnd(${JSON.stringify(prefix)}) is ${JSON.stringify(want)}`, () => {
      assert.equal(prefixEnd(prefix), want);
    });
  }
});

describe("SortedMap", () => {
  test("range and countRange agree with a filtered sorted array under random inserts and deletes", () => {
    const random = rng(42);
    const set = new SortedMap<string>();
    const model = new Set<string>();
    const namespaces = ["default", "default2", "kube-system", "a"];
    const keyOf = () =>
      `/pods/${namespaces[Math.floor(random() * namespaces.length)]}/p${Math.floor(random() * 3000)}`;
    for (let step = 0; step < 20000; step++) {
      const key = keyOf();
      if (random() < 0.65) {
        assert.equal(set.insert(key, `v${key}`), !model.has(key), `insert ${key}`);
        model.add(key);
      } else {
        assert.equal(set.delete(key), model.has(key), `delete ${key}`);
        model.delete(key);
      }
    }
    const sorted = [...model].sort();
    assert.equal(set.size, sorted.length);
    for (const prefix of ["", "/pods/", "/pods/default/", "/pods/default2/", "/pods/a/", "/x/"]) {
      const want = sorted.filter((k) => k.startsWith(prefix));
      assert.deepEqual(rangeKeys(set, prefix), want, `range ${prefix}`);
      assert.equal(set.countRange(prefix), want.length, `count ${prefix}`);
      for (const after of [want[0], want[7], want[want.length - 1], "/pods/default/p5", "/a"]) {
        if (after === undefined) continue;
        const rest = want.filter((k) => k > after);
        assert.deepEqual(rangeKeys(set, prefix, { after }), rest, `range ${prefix} after ${after}`);
        assert.equal(set.countRange(prefix, after), rest.length, `count ${prefix} after ${after}`);
        assert.deepEqual(rangeKeys(set, prefix, { after, limit: 3 }), rest.slice(0, 3));
      }
    }
  });

  test("insert reports an existing key and delete a missing one", () => {
    const set = new SortedMap<string>();
    assert.equal(set.insert("/a", "1"), true);
    assert.equal(set.insert("/a", "2"), false);
    assert.deepEqual(set.range("/").values, ["1"]);
    assert.equal(set.set("/a", "3"), true);
    assert.equal(set.set("/b", "3"), false);
    assert.deepEqual(set.range("/").values, ["3"]);
    assert.equal(set.delete("/b"), false);
    assert.equal(set.delete("/a"), true);
    assert.equal(set.size, 0);
    assert.deepEqual(rangeKeys(set, ""), []);
  });

  test("fromSorted builds the same set as one insert per key", () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `/k/${String(i).padStart(5, "0")}`);
    const set = SortedMap.fromSorted(keys.map((k) => [k, `v${k}`] as const));
    assert.deepEqual(rangeKeys(set, "/k/"), keys);
    assert.equal(set.countRange("/k/0"), 5000);
    assert.equal(set.countRange("/k/04"), 1000);
    set.insert("/k/00000a", "v/k/00000a");
    assert.deepEqual(rangeKeys(set, "/k/0000", { limit: 3 }), [
      "/k/00000",
      "/k/00000a",
      "/k/00001",
    ]);
  });

  test("deleting every key in random order leaves an empty set", () => {
    const random = rng(7);
    const keys = Array.from({ length: 4000 }, (_, i) => `/k/${i}`);
    const set = new SortedMap<string>();
    for (const k of keys) set.insert(k, `v${k}`);
    const order = keys.map((k) => [random(), k] as const).sort((a, b) => a[0] - b[0]);
    let left = keys.length;
    for (const [, k] of order) {
      assert.equal(set.delete(k), true);
      left--;
      if (left % 500 === 0) assert.equal(set.countRange("/k/"), left);
    }
    assert.equal(set.size, 0);
  });
});
