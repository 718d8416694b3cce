import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "./errors.ts";
import {
  EVERYTHING,
  matches,
  NOTHING,
  parseLabelSelector,
  requiredEquals,
  selectorFromLabelSelector,
  selectorFromSet,
  selectorToString,
  validateLabelSelector,
} from "./labels.ts";

describe("parseLabelSelector", () => {
  const cases: Array<[string, string]> = [
    ["", ""],
    ["app=web", "app=web"],
    ["app==web", "app==web"],
    ["app!=web", "app!=web"],
    ["  app = web , tier in ( b , a ) ", "app=web,tier in (a,b)"],
    ["x notin (a,b),!y,z", "x notin (a,b),!y,z"],
    ["b=1,a=2", "a=2,b=1"],
    ["example.com/role=db", "example.com/role=db"],
    ["x in (in,notin)", "x in (in,notin)"],
    ["x=", "x="],
    ["x in ()", "x in ()"],
    ["x in (a,,b)", "x in (,a,b)"],
    ["replicas>2,age<10", "age<10,replicas>2"],
  ];
  for (const [input, rendered] of cases) {
    it(`parses ${JSON.stringify(input)} and renders it as ${JSON.stringify(rendered)}`, () => {
      assert.equal(selectorToString(parseLabelSelector(input)), rendered);
    });
  }

  const errors: Array<[string, string | RegExp]> = [
    ["app=web,", "found '', expected: identifier after ','"],
    ["app=web tier=db", "found 'tier', expected: ',' or 'end of string'"],
    ["=web", "found '=', expected: !, identifier, or 'end of string'"],
    ["x in a", "unable to parse requirement: found 'a' expected: '('"],
    ["x in (a", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["x IN (a)", "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt"],
    ["!x=y", "found '=', expected: ',' or 'end of string'"],
    [
      "x>a",
      `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    ["a:b=c", /^unable to parse requirement: <nil>: Invalid value: "a:b": name part must consist/],
    [
      "app=-bad",
      /^unable to parse requirement: values\[0\]\[app\]: Invalid value: "-bad": a valid label must/,
    ],
  ];
  for (const [input, message] of errors) {
    it(`rejects ${JSON.stringify(input)} with a 400 worded as apimachinery`, () => {
      assert.throws(
        () => parseLabelSelector(input),
        (e: unknown) => {
          assert.ok(isStatusError(e, "BadRequest"));
          assert.equal(e.code, 400);
          if (typeof message === "string") assert.equal(e.message, message);
          else assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe("matches", () => {
  const labels = { app: "web", tier: "front" };
  const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
    ["", labels, true],
    ["", undefined, true],
    ["app=web", labels, true],
    ["app=db", labels, false],
    ["app!=db", labels, true],
    ["missing!=x", labels, true],
    ["tier in (front,back)", labels, true],
    ["tier notin (front)", labels, false],
    ["missing notin (x)", labels, true],
    ["app", labels, true],
    ["!app", labels, false],
    ["!missing", labels, true],
    ["app=web,tier=back", labels, false],
    ["app", undefined, false],
    ["n>2", { n: "3" }, true],
    ["n>2", { n: "2" }, false],
    ["n<2", { n: "-1" }, true],
    ["n<2", { n: "x" }, false],
    ["n<2", {}, false],
  ];
  for (const [sel, l, want] of cases) {
    it(`${JSON.stringify(sel)} against ${JSON.stringify(l)} is ${want}`, () => {
      assert.equal(matches(parseLabelSelector(sel), l), want);
    });
  }
});

describe("selectorFromLabelSelector", () => {
  it("matches nothing for a null or undefined selector and everything for an empty one", () => {
    assert.equal(matches(selectorFromLabelSelector(null), {}), false);
    assert.equal(matches(selectorFromLabelSelector(undefined), { a: "b" }), false);
    assert.equal(matches(selectorFromLabelSelector({}), { a: "b" }), true);
    assert.equal(selectorFromLabelSelector(null), NOTHING);
  });

  it("combines matchLabels and matchExpressions with AND, sorted by key", () => {
    const sel = selectorFromLabelSelector({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["b", "a"] },
        { key: "canary", operator: "DoesNotExist" },
        { key: "env", operator: "Exists" },
        { key: "zone", operator: "NotIn", values: ["x"] },
      ],
    });
    assert.equal(selectorToString(sel), "app=web,!canary,env,tier in (a,b),zone notin (x)");
    assert.equal(matches(sel, { app: "web", tier: "a", env: "p" }), true);
    assert.equal(matches(sel, { app: "web", tier: "a", env: "p", canary: "1" }), false);
  });

  it("rejects an unknown operator with apimachinery's message", () => {
    assert.throws(
      () => selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "Equals" }] }),
      { message: '"Equals" is not a valid label selector operator' },
    );
  });
});

describe("requiredEquals", () => {
  it("returns the keys pinned to one value, for index lookups", () => {
    assert.deepEqual(requiredEquals(parseLabelSelector("app=web,tier in (a),x in (a,b),y!=z,k")), {
      app: "web",
      tier: "a",
    });
    assert.deepEqual(requiredEquals(NOTHING), {});
    assert.deepEqual(requiredEquals(selectorFromSet({ a: "1" })), { a: "1" });
    assert.deepEqual(requiredEquals(EVERYTHING), {});
  });
});

describe("validateLabelSelector", () => {
  it("accepts a valid selector and a null one", () => {
    assert.deepEqual(validateLabelSelector({ matchLabels: { app: "web" } }, "spec.selector"), []);
    assert.deepEqual(validateLabelSelector(null, "spec.selector"), []);
  });

  it("reports each problem with its field path and apimachinery's wording", () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { "bad key!": "ok" },
        matchExpressions: [
          { key: "a", operator: "In" },
          { key: "b", operator: "Exists", values: ["x"] },
          { key: "c", operator: "Gt", values: ["1"] },
          { key: "d", operator: "In", values: ["-x"] },
        ],
      },
      "spec.selector",
    );
    const want: Array<[string, string, string]> = [
      [
        "spec.selector.matchLabels",
        "FieldValueInvalid",
        'Invalid value: "bad key!": name part must consist of',
      ],
      [
        "spec.selector.matchExpressions[0].values",
        "FieldValueRequired",
        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
      [
        "spec.selector.matchExpressions[1].values",
        "FieldValueForbidden",
        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      ],
      [
        "spec.selector.matchExpressions[2].operator",
        "FieldValueInvalid",
        'Invalid value: "Gt": not a valid selector operator',
      ],
      [
        "spec.selector.matchExpressions[3].values[0]",
        "FieldValueInvalid",
        'Invalid value: "-x": a valid label must be an empty string',
      ],
    ];
    assert.equal(errs.length, want.length);
    want.forEach(([field, type, prefix], i) => {
      assert.equal(errs[i]?.field, field);
      assert.equal(errs[i]?.type, type);
      assert.ok(errs[i]?.message.startsWith(prefix), errs[i]?.message);
    });
  });
});
