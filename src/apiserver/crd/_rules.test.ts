import assert from "node:assert/strict";
import { test } from "node:test";
import { checkRules, resolveFieldPath, ruleValidator } from "./_rules.ts";

const SCHEMA = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        a: { type: "integer" },
        m: { type: "object", additionalProperties: { type: "string" } },
        list: {
          type: "array",
          maxItems: 10,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: {
            type: "object",
            properties: { name: { type: "string", maxLength: 10 }, v: { type: "integer" } },
            "x-kubernetes-validations": [
              { rule: "self.v >= oldSelf.v", message: "v may not go down" },
            ],
          },
        },
      },
      "x-kubernetes-validations": [{ rule: "self.a > 0", fieldPath: ".a" }],
    },
  },
};

test("fieldPath resolves against the schema as kube's ValidFieldPath", () => {
  const spec = SCHEMA.properties.spec;
  assert.equal(resolveFieldPath(".a", spec), ".a");
  assert.equal(resolveFieldPath(".m['x.y']", spec), ".m[x.y]");
  assert.equal(resolveFieldPath(".nope", spec), undefined);
  assert.equal(resolveFieldPath("a", spec), undefined);
});

test("rules under a map list may use oldSelf and bounded rules pass the cost check", () => {
  assert.deepEqual(checkRules(SCHEMA, "spec.versions[0].schema.openAPIV3Schema"), []);
});

test("transition rules on map-list items correlate old items by their keys", () => {
  const validate = ruleValidator(SCHEMA);
  assert.ok(validate);
  const obj = (a: number, v: number) => ({ spec: { a, list: [{ name: "x", v }] } });
  assert.deepEqual(validate(obj(1, 5), undefined, []), []);
  assert.deepEqual(
    validate(obj(1, 4), obj(1, 5), []).map((e) => `${e.field}: ${e.message}`),
    ['spec.list[0]: Invalid value: "object": v may not go down'],
  );
  assert.deepEqual(
    validate(obj(0, 5), undefined, []).map((e) => `${e.field}: ${e.message}`),
    ['spec.a: Invalid value: "object": failed rule: self.a > 0'],
  );
  // ratcheting: an unchanged failing value is not reported on update
  assert.deepEqual(validate(obj(0, 5), obj(0, 5), []), []);
});

test("rule fields are checked at CRD create with kube's paths and messages", () => {
  const schema = (rules: unknown[]) => ({
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: { a: { type: "integer" } },
        "x-kubernetes-validations": rules,
      },
    },
  });
  const errs = (rules: unknown[]) =>
    checkRules(schema(rules), "s").map((e) =>
      `${e.field}: ${e.message}`.replace(/apiextensions\.ValidationRule\{[^}]*\}/, "RULE"),
    );
  const at = "s.properties[spec].x-kubernetes-validations[0]";
  assert.deepEqual(errs([{ rule: "" }]), [`${at}.rule: Required value: rule is not specified`]);
  assert.deepEqual(errs([{ rule: "true", message: "a\nb" }]), [
    `${at}.message: Invalid value: "a\\nb": message must not contain line breaks`,
  ]);
  assert.deepEqual(errs([{ rule: "self.a >\n 0" }]), [
    `${at}.message: Required value: message must be specified if rule contains line breaks`,
  ]);
  assert.deepEqual(errs([{ rule: "true", messageExpression: "self.a" }]), [
    `${at}.messageExpression: Invalid value: RULE: messageExpression must evaluate to a string`,
  ]);
  assert.deepEqual(errs([{ rule: "true", messageExpression: "self.b" }]), [
    `${at}.messageExpression: Invalid value: RULE: messageExpression compilation failed: ERROR: <input>:1:5: undefined field 'b'\n | self.b\n | ....^`,
  ]);
  assert.deepEqual(errs([{ rule: "self.a > 0", optionalOldSelf: true }]), [
    `${at}.optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule`,
  ]);
});
