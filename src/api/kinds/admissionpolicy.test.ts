import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import {
  validatingAdmissionPolicyBindingStrategy as bindings,
  validatingAdmissionPolicyStrategy as policies,
} from "./admissionpolicy.ts";

const RULE = {
  apiGroups: ["apps"],
  apiVersions: ["v1"],
  operations: ["CREATE"],
  resources: ["deployments"],
};

function policy(spec: object): KubeObject {
  const obj = { metadata: { name: "p.example.com" }, spec } as unknown as KubeObject;
  policies.applyDefaults(obj);
  return obj;
}

function binding(spec: object): KubeObject {
  const obj = { metadata: { name: "b.example.com" }, spec } as unknown as KubeObject;
  bindings.applyDefaults(obj);
  return obj;
}

const messages = (errs: Array<{ field: string; message: string }>) =>
  errs.map((e) => `${e.field}: ${e.message}`);

test("ValidatingAdmissionPolicy defaults are kube's", () => {
  const p = policy({
    matchConstraints: { resourceRules: [RULE] },
    validations: [{ expression: "true" }],
  });
  const spec = (p as unknown as { spec: Record<string, unknown> }).spec;
  assert.equal(spec.failurePolicy, "Fail");
  assert.deepEqual(spec.matchConstraints, {
    resourceRules: [{ ...RULE, scope: "*" }],
    matchPolicy: "Equivalent",
    namespaceSelector: {},
    objectSelector: {},
  });
});

const policyCases: Array<{ name: string; spec: object; errors: string[] }> = [
  {
    name: "a minimal policy is valid",
    spec: { matchConstraints: { resourceRules: [RULE] }, validations: [{ expression: "true" }] },
    errors: [],
  },
  {
    name: "matchConstraints and validations are required",
    spec: {},
    errors: [
      "spec.matchConstraints: Required value",
      "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
      "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
    ],
  },
  {
    name: "resourceRules are required to give the expressions a type",
    spec: { matchConstraints: {}, validations: [{ expression: "true" }] },
    errors: ["spec.matchConstraints.resourceRules: Required value"],
  },
  {
    name: "failurePolicy, reason and message are checked",
    spec: {
      failurePolicy: "Maybe",
      matchConstraints: { resourceRules: [RULE] },
      validations: [{ expression: "true", reason: "Teapot", message: "two\nlines" }],
    },
    errors: [
      'spec.failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"',
      'spec.validations[0].message: Invalid value: "two\\nlines": message must not contain line breaks',
      'spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"',
    ],
  },
  {
    name: "paramKind needs an apiVersion and a kind",
    spec: {
      paramKind: { apiVersion: "a/b/c" },
      matchConstraints: { resourceRules: [RULE] },
      validations: [{ expression: "true" }],
    },
    errors: [
      'spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
      "spec.paramKind.kind: Required value",
    ],
  },
  {
    name: "variables need CEL identifiers as names",
    spec: {
      matchConstraints: { resourceRules: [RULE] },
      variables: [{ name: "a-b", expression: "1" }],
      validations: [{ expression: "true" }],
    },
    errors: ['spec.variables[0].name: Invalid value: "a-b": name is not a valid CEL identifier'],
  },
  {
    name: "matchConditions need unique names",
    spec: {
      matchConstraints: { resourceRules: [RULE] },
      matchConditions: [
        { name: "a", expression: "true" },
        { name: "a", expression: "true" },
      ],
      validations: [{ expression: "true" }],
    },
    errors: ['spec.matchConditions[1].name: Duplicate value: "a"'],
  },
];

for (const c of policyCases) {
  test(`ValidatingAdmissionPolicy validation: ${c.name}`, () => {
    assert.deepEqual(messages(policies.validate(policy(c.spec))), c.errors);
  });
}

const bindingCases: Array<{ name: string; spec: object; errors: string[] }> = [
  {
    name: "a minimal binding is valid",
    spec: { policyName: "p.example.com", validationActions: ["Deny"] },
    errors: [],
  },
  {
    name: "policyName and validationActions are required",
    spec: {},
    errors: [
      "spec.policyName: Required value",
      "spec.validationActions: Required value: at least one validation action is required",
    ],
  },
  {
    name: "Deny and Warn together are refused",
    spec: { policyName: "p", validationActions: ["Deny", "Warn", "Deny"] },
    errors: [
      'spec.validationActions[2]: Duplicate value: "Deny"',
      'spec.validationActions: Invalid value: ["Deny","Warn","Deny"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
    ],
  },
  {
    name: "a paramRef needs a name or a selector, not both, and a parameterNotFoundAction",
    spec: {
      policyName: "p",
      validationActions: ["Audit"],
      paramRef: { name: "x", selector: {} },
    },
    errors: [
      "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
      "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive",
      "spec.paramRef.parameterNotFoundAction: Required value",
    ],
  },
];

for (const c of bindingCases) {
  test(`ValidatingAdmissionPolicyBinding validation: ${c.name}`, () => {
    assert.deepEqual(messages(bindings.validate(binding(c.spec))), c.errors);
  });
}

test("the printer rows show validations, paramKind and paramRef as kube does", () => {
  const p = policy({
    paramKind: { apiVersion: "v1", kind: "ConfigMap" },
    matchConstraints: { resourceRules: [RULE] },
    validations: [{ expression: "true" }, { expression: "false" }],
  });
  assert.deepEqual(policies.row(p, Date.now()).slice(0, 3), ["p.example.com", 2, "v1/ConfigMap"]);
  const rows = [
    [{ name: "limits" }, "*/limits"],
    [{ name: "limits", namespace: "ns" }, "ns/limits"],
    [{ selector: { matchLabels: { a: "b" } } }, "a=b"],
    [undefined, "<unset>"],
  ] as const;
  for (const [paramRef, shown] of rows) {
    const b = binding({
      policyName: "p",
      validationActions: ["Deny"],
      ...(paramRef ? { paramRef } : {}),
    });
    assert.equal(bindings.row(b, Date.now())[2], shown);
  }
});
