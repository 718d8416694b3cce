import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import {
  type MatchTarget,
  matchingVersion,
  namespaceSelected,
  objectSelected,
  type Rule,
  ruleMatches,
  type Webhook,
} from "./_match.ts";

const POD_CREATE: MatchTarget = {
  operation: "CREATE",
  group: "",
  version: "v1",
  resource: "pods",
  subresource: "",
  namespaced: true,
};
const rule = (resources: string[], extra: Partial<Rule> = {}): Rule => ({
  operations: ["CREATE", "UPDATE"],
  apiGroups: [""],
  apiVersions: ["v1"],
  resources,
  ...extra,
});

const cases: Array<[string, Rule, Partial<MatchTarget>, boolean]> = [
  ["a rule naming the resource", rule(["pods"]), {}, true],
  ["a rule naming another resource", rule(["services"]), {}, false],
  ["`*` covers every resource", rule(["*"]), {}, true],
  ["`*` leaves subresources out", rule(["*"]), { subresource: "status" }, false],
  ["`*/*` covers subresources", rule(["*/*"]), { subresource: "status" }, true],
  ["`pods` leaves pods/status out", rule(["pods"]), { subresource: "status" }, false],
  ["`pods/status` covers the status write", rule(["pods/status"]), { subresource: "status" }, true],
  ["`pods/status` leaves the pod itself out", rule(["pods/status"]), {}, false],
  [
    "`pods/*` covers pods and their subresources",
    rule(["pods/*"]),
    { subresource: "status" },
    true,
  ],
  ["`*/status` covers every status", rule(["*/status"]), { subresource: "status" }, true],
  ["an operation not listed", rule(["pods"]), { operation: "DELETE" }, false],
  ["operation `*`", rule(["pods"], { operations: ["*"] }), { operation: "DELETE" }, true],
  ["another group", rule(["pods"], { apiGroups: ["apps"] }), {}, false],
  ["group `*`", rule(["pods"], { apiGroups: ["*"] }), {}, true],
  ["another version", rule(["pods"], { apiVersions: ["v2"] }), {}, false],
  ["scope Cluster leaves namespaced objects out", rule(["pods"], { scope: "Cluster" }), {}, false],
  ["scope Namespaced", rule(["pods"], { scope: "Namespaced" }), {}, true],
  [
    "scope Cluster covers cluster-scoped objects",
    rule(["nodes"], { scope: "Cluster" }),
    { resource: "nodes", namespaced: false },
    true,
  ],
];

for (const [name, r, target, want] of cases) {
  test(`ruleMatches: ${name}`, () => {
    assert.equal(ruleMatches(r, { ...POD_CREATE, ...target }), want);
  });
}

const HPA_V1: MatchTarget = {
  operation: "CREATE",
  group: "autoscaling",
  version: "v1",
  resource: "horizontalpodautoscalers",
  subresource: "",
  namespaced: true,
};
const hpaHook = (matchPolicy: "Equivalent" | "Exact"): Webhook => ({
  name: "hpa.example.com",
  clientConfig: { url: "https://127.0.0.1/" },
  matchPolicy,
  rules: [
    {
      operations: ["CREATE"],
      apiGroups: ["autoscaling"],
      apiVersions: ["v2"],
      resources: ["horizontalpodautoscalers"],
    },
  ],
});
const versions = [
  { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" },
  { group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers" },
];

test("matchingVersion: Equivalent sends a request in another version as the version the rule names", () => {
  assert.deepEqual(matchingVersion(hpaHook("Equivalent"), HPA_V1, versions), versions[0]);
});

test("matchingVersion: Exact leaves a request in another version out", () => {
  assert.equal(matchingVersion(hpaHook("Exact"), HPA_V1, versions), undefined);
});

const labelled = (labels: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", labels },
});

test("objectSelected: the new or the old object's labels match", () => {
  const hook: Webhook = {
    name: "x.example.com",
    clientConfig: {},
    objectSelector: { matchLabels: { app: "web" } },
  };
  assert.equal(objectSelected(hook, labelled({ app: "web" }), undefined), true);
  assert.equal(objectSelected(hook, labelled({ app: "db" }), labelled({ app: "web" })), true);
  assert.equal(objectSelected(hook, labelled({ app: "db" }), undefined), false);
  assert.equal(objectSelected({ ...hook, objectSelector: {} }, labelled({}), undefined), true);
});

test("namespaceSelected: an empty selector takes every namespace, a set one its labels", () => {
  const hook: Webhook = {
    name: "x.example.com",
    clientConfig: {},
    namespaceSelector: { matchLabels: { webhooks: "on" } },
  };
  assert.equal(namespaceSelected(hook, { webhooks: "on" }), true);
  assert.equal(namespaceSelected(hook, undefined), false);
  assert.equal(namespaceSelected({ ...hook, namespaceSelector: {} }, undefined), true);
});
