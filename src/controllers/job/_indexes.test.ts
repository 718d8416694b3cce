import assert from "node:assert/strict";
import { test } from "node:test";
import { firstPending, format, has, merge, parseIndexes, total, withIndexes } from "./_indexes.ts";

test("index lists read and print as kube writes status.completedIndexes", () => {
  const cases: Array<[string, number, string, number]> = [
    ["", 10, "", 0],
    ["0", 10, "0", 1],
    ["0,1", 10, "0,1", 2],
    ["0-2", 10, "0-2", 3],
    ["1,3-5,7", 10, "1,3-5,7", 5],
    ["1,2,3", 10, "1-3", 3],
    ["3-9", 5, "3,4", 2],
    ["x,2", 10, "2", 1],
  ];
  for (const [text, completions, printed, count] of cases) {
    const iv = parseIndexes(text, completions);
    assert.equal(format(iv), printed, text);
    assert.equal(total(iv), count, text);
  }
});

test("merge, withIndexes, has and firstPending", () => {
  const a = parseIndexes("0-2,7", 10);
  assert.equal(format(withIndexes(a, [3, 9])), "0-3,7,9");
  assert.equal(format(merge(a, parseIndexes("5,6", 10))), "0-2,5-7");
  assert.equal(has(a, 7), true);
  assert.equal(has(a, 4), false);
  assert.deepEqual(firstPending(a, 3, 10), [3, 4, 5]);
  assert.deepEqual(firstPending(a, 10, 10), [3, 4, 5, 6, 8, 9]);
  assert.deepEqual(firstPending([], 2, 1), [0]);
});
