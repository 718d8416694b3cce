import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { optionalQueryFlag, queryFlag } from "./query.ts";

describe("queryFlag", () => {
  const cases: Array<[query: string, want: boolean]> = [
    ["watch=true", true],
    ["watch=True", true],
    ["watch=TRUE", true],
    ["watch=1", true],
    ["watch=yes", true],
    ["watch=2", true],
    ["watch=", true],
    ["watch", true],
    ["watch=false", false],
    ["watch=False", false],
    ["watch=FALSE", false],
    ["watch=0", false],
    ["", false],
    ["other=true", false],
    ["watch=false&watch=true", false],
    ["watch=true&watch=false", true],
  ];
  for (const [query, want] of cases) {
    test(`reads "${query}" as ${want}`, () => {
      assert.equal(queryFlag(new URLSearchParams(query), "watch"), want);
    });
  }
});

describe("optionalQueryFlag", () => {
  test("is undefined when the parameter is absent, else the same bool as queryFlag", () => {
    assert.equal(optionalQueryFlag(new URLSearchParams(""), "sendInitialEvents"), undefined);
    assert.equal(
      optionalQueryFlag(new URLSearchParams("sendInitialEvents=False"), "sendInitialEvents"),
      false,
    );
    assert.equal(
      optionalQueryFlag(new URLSearchParams("sendInitialEvents=True"), "sendInitialEvents"),
      true,
    );
  });
});
