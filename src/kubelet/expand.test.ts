import assert from "node:assert/strict";
import { test } from "node:test";
import { expandVars } from "./expand.ts";

const vars: Record<string, string> = { A: "1", B: "two" };
const cases: [string, string][] = [
  ["$(A)", "1"],
  ["x-$(A)-$(B)", "x-1-two"],
  ["$(MISSING)", "$(MISSING)"],
  ["$$(A)", "$(A)"],
  ["$A", "$A"],
  ["$(A", "$(A"],
  ["cost $", "cost $"],
];
for (const [input, want] of cases) {
  test(`expandVars turns ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
    assert.equal(
      expandVars(input, (n) => vars[n]),
      want,
    );
  });
}
