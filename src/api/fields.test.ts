import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "./errors.ts";
import {
  escapeFieldValue,
  fieldSelectorToString,
  fieldsMatch,
  isEmptyFieldSelector,
  parseFieldSelector,
  requiredFieldEquals,
  selectorFields,
} from "./fields.ts";

describe("parseFieldSelector", () => {
  const cases: Array<[string, Array<[string, string, string]>]> = [
    ["", []],
    ["metadata.name=web", [["metadata.name", "=", "web"]]],
    ["metadata.name==web", [["metadata.name", "=", "web"]]],
    ["status.phase!=Running", [["status.phase", "!=", "Running"]]],
    [
      "spec.nodeName=n1,metadata.namespace=default",
      [
        ["metadata.namespace", "=", "default"],
        ["spec.nodeName", "=", "n1"],
      ],
    ],
    ["a=x\\,y\\=z\\\\", [["a", "=", "x,y=z\\"]]],
    ["a=", [["a", "=", ""]]],
    ["a=b,,", [["a", "=", "b"]]],
  ];
  for (const [input, want] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      const got = parseFieldSelector(input).requirements.map((r) => [r.field, r.operator, r.value]);
      assert.deepEqual(got, want);
    });
  }

  const errors: Array<[string, string]> = [
    ["metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ["a=b\\x", "invalid field selector: invalid escape sequence: \\x"],
    ["a=b\\", "invalid field selector: invalid escape sequence: \\"],
    ["a=b=c", "invalid field selector: unescaped character in value: 61"],
  ];
  for (const [input, message] of errors) {
    it(`rejects ${JSON.stringify(input)} with a 400`, () => {
      assert.throws(
        () => parseFieldSelector(input),
        (e: unknown) => isStatusError(e, "BadRequest") && e.message === message,
      );
    });
  }
});

describe("fieldsMatch", () => {
  const fields = { "metadata.name": "web", "status.phase": "Running" };
  const cases: Array<[string, boolean]> = [
    ["", true],
    ["metadata.name=web", true],
    ["metadata.name=db", false],
    ["status.phase!=Pending", true],
    ["metadata.name=web,status.phase!=Running", false],
    ["spec.nodeName=", true],
    ["spec.nodeName!=", false],
  ];
  for (const [sel, want] of cases) {
    it(`${JSON.stringify(sel)} is ${want}`, () => {
      assert.equal(fieldsMatch(parseFieldSelector(sel), fields), want);
    });
  }
});

describe("field selector helpers", () => {
  it("requiredFieldEquals pulls the equality on one field and ignores inequalities", () => {
    const sel = parseFieldSelector("metadata.name=web,spec.nodeName!=n1");
    assert.equal(requiredFieldEquals(sel, "metadata.name"), "web");
    assert.equal(requiredFieldEquals(sel, "spec.nodeName"), undefined);
  });

  it("selectorFields lists each referenced field once", () => {
    assert.deepEqual(selectorFields(parseFieldSelector("a=1,b!=2,a!=3")), ["a", "b"]);
    assert.equal(isEmptyFieldSelector(parseFieldSelector("")), true);
  });

  it("renders with escaped values so the string parses back to the same selector", () => {
    const sel = parseFieldSelector("x=a\\,b,y!=c\\=d");
    const s = fieldSelectorToString(sel);
    assert.equal(s, "x=a\\,b,y!=c\\=d");
    assert.deepEqual(parseFieldSelector(s), sel);
    assert.equal(escapeFieldValue("a\\b"), "a\\\\b");
  });
});
