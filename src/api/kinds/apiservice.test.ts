import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { apiServiceStrategy } from "./apiservice.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");
const CREATED = "2026-01-01T00:00:00Z";

function apiService(name: string, spec: object): KubeObject {
  return { metadata: { name, creationTimestamp: CREATED }, spec } as KubeObject;
}

function created(name: string, spec: object): KubeObject {
  const obj = apiService(name, spec);
  apiServiceStrategy.applyDefaults(obj);
  apiServiceStrategy.prepareForCreate?.(obj);
  return obj;
}

const wardle = {
  group: "wardle.example.com",
  version: "v1alpha1",
  groupPriorityMinimum: 1000,
  versionPriority: 15,
  service: { name: "api", namespace: "wardle" },
};

test("APIService validation words each refusal as kube-apiserver 1.32", () => {
  const cases: Array<[string, string, object, string[]]> = [
    ["a service-backed one", "v1alpha1.wardle.example.com", wardle, []],
    [
      "the legacy v1",
      "v1.",
      { version: "v1", groupPriorityMinimum: 18000, versionPriority: 1 },
      [],
    ],
    [
      "a name that is not version.group",
      "wardle",
      wardle,
      [
        'metadata.name: Invalid value: "wardle": must be `spec.version+"."+spec.group`: "v1alpha1.wardle.example.com"',
      ],
    ],
    [
      "a name with a slash",
      "v1/x",
      wardle,
      ["metadata.name: Invalid value: \"v1/x\": may not contain '/'"],
    ],
    [
      "an empty group for another version",
      "v2.",
      { version: "v2", groupPriorityMinimum: 1, versionPriority: 1 },
      ["spec.group: Required value: only v1 may have an empty group and it better be legacy kube"],
    ],
    [
      "priorities out of range",
      "v1alpha1.wardle.example.com",
      { ...wardle, groupPriorityMinimum: 0, versionPriority: 1001 },
      [
        "spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000",
        "spec.versionPriority: Invalid value: 1001: must be positive and less than 1000",
      ],
    ],
    [
      "a local one with a CA bundle and insecureSkipTLSVerify",
      "v1.wardle.example.com",
      {
        group: "wardle.example.com",
        version: "v1",
        groupPriorityMinimum: 1,
        versionPriority: 1,
        caBundle: Buffer.from("abcd").toString("base64"),
        insecureSkipTLSVerify: true,
      },
      [
        'spec.caBundle: Invalid value: "4 bytes": local APIServices may not have a caBundle',
        "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify",
      ],
    ],
    [
      "insecureSkipTLSVerify beside a CA bundle",
      "v1alpha1.wardle.example.com",
      { ...wardle, caBundle: "YWJjZA==", insecureSkipTLSVerify: true },
      ["spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present"],
    ],
    [
      "a service without namespace, name or a valid port",
      "v1alpha1.wardle.example.com",
      { ...wardle, service: { port: 70000 } },
      [
        "spec.service.namespace: Required value",
        "spec.service.name: Required value",
        "spec.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive",
      ],
    ],
    [
      "a version that is not a DNS-1035 label",
      "1.wardle.example.com",
      { ...wardle, version: "1" },
      [
        "spec.version: Invalid value: \"1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
  ];
  for (const [what, name, spec, want] of cases) {
    assert.deepEqual(lines(apiServiceStrategy.validate(created(name, spec))), want, what);
  }
});

test("APIService defaults the service port to 443 and starts local ones Available", () => {
  const backed = created("v1alpha1.wardle.example.com", wardle);
  assert.equal((backed.spec as { service: { port: number } }).service.port, 443);
  assert.equal(backed.status, undefined);
  const local = created("v1.apps", {
    group: "apps",
    version: "v1",
    groupPriorityMinimum: 17800,
    versionPriority: 15,
  });
  assert.deepEqual(local.status, {
    conditions: [
      {
        type: "Available",
        status: "True",
        reason: "Local",
        message: "Local APIServices are always available",
        lastTransitionTime: CREATED,
      },
    ],
  });
});

test("APIService rows show the service or Local, and Available with its reason when not True", () => {
  const local = created("v1.apps", {
    group: "apps",
    version: "v1",
    groupPriorityMinimum: 17800,
    versionPriority: 15,
  });
  assert.deepEqual(apiServiceStrategy.row(local, NOW), ["v1.apps", "Local", "True", "60m"]);
  const backed = created("v1alpha1.wardle.example.com", wardle);
  assert.deepEqual(apiServiceStrategy.row(backed, NOW), [
    "v1alpha1.wardle.example.com",
    "wardle/api",
    "Unknown",
    "60m",
  ]);
  backed.status = {
    conditions: [{ type: "Available", status: "False", reason: "ServiceNotFound" }],
  };
  assert.equal(apiServiceStrategy.row(backed, NOW)[2], "False (ServiceNotFound)");
  assert.deepEqual(
    apiServiceStrategy.columns.map((c) => c.name),
    ["Name", "Service", "Available", "Age"],
  );
});

test("APIService status conditions must be True, False or Unknown", () => {
  const obj = created("v1alpha1.wardle.example.com", wardle);
  obj.status = { conditions: [{ type: "Available", status: "Maybe" }] };
  assert.deepEqual(lines(apiServiceStrategy.validateUpdate(obj, obj)), [
    'status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
  ]);
});
