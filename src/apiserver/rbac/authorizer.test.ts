import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { uncovered } from "./_covers.ts";
import { type Attributes, ruleAllows } from "./_rules.ts";
import { requestAttributes } from "./attributes.ts";
import { createAuthorizer, type PolicySource } from "./authorizer.ts";
import { forbidden } from "./forbidden.ts";

const attrs = (over: Partial<Attributes>): Attributes => ({
  verb: "get",
  resourceRequest: true,
  path: "",
  apiGroup: "",
  apiVersion: "v1",
  resource: "pods",
  subresource: "",
  namespace: "default",
  name: "",
  ...over,
});

test("ruleAllows matches verbs, groups, resources, subresources, names and URLs as kube does", () => {
  const cases: Array<[string, Record<string, unknown>, Partial<Attributes>, boolean]> = [
    ["exact", { verbs: ["get"], apiGroups: [""], resources: ["pods"] }, {}, true],
    ["other verb", { verbs: ["list"], apiGroups: [""], resources: ["pods"] }, {}, false],
    ["star verb", { verbs: ["*"], apiGroups: [""], resources: ["pods"] }, {}, true],
    ["other group", { verbs: ["get"], apiGroups: ["apps"], resources: ["pods"] }, {}, false],
    [
      "subresource needs its own entry",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      { subresource: "log" },
      false,
    ],
    [
      "res/sub",
      { verbs: ["get"], apiGroups: [""], resources: ["pods/log"] },
      { subresource: "log" },
      true,
    ],
    [
      "*/sub",
      { verbs: ["get"], apiGroups: ["*"], resources: ["*/scale"] },
      { apiGroup: "apps", resource: "deployments", subresource: "scale" },
      true,
    ],
    [
      "star resource",
      { verbs: ["get"], apiGroups: [""], resources: ["*"] },
      { subresource: "log" },
      true,
    ],
    [
      "resourceNames match",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] },
      { name: "a" },
      true,
    ],
    [
      "resourceNames other",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] },
      { name: "b" },
      false,
    ],
    [
      "resourceNames never match a list",
      { verbs: ["list"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] },
      { verb: "list" },
      false,
    ],
    [
      "url exact",
      { verbs: ["get"], nonResourceURLs: ["/healthz"] },
      { resourceRequest: false, path: "/healthz" },
      true,
    ],
    [
      "url prefix",
      { verbs: ["get"], nonResourceURLs: ["/apis/*"] },
      { resourceRequest: false, path: "/apis/apps/v1" },
      true,
    ],
    [
      "url other",
      { verbs: ["get"], nonResourceURLs: ["/healthz"] },
      { resourceRequest: false, path: "/metrics" },
      false,
    ],
    [
      "resource rule never allows a url",
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { resourceRequest: false, path: "/metrics" },
      false,
    ],
  ];
  for (const [name, rule, over, want] of cases)
    assert.equal(ruleAllows(rule, attrs(over)), want, name);
});

test("requestAttributes derives verbs, names and namespaces as kube's RequestInfoFactory", () => {
  const cases: Array<[string, string, Partial<Attributes>]> = [
    [
      "GET",
      "/api/v1/namespaces/default/pods",
      { verb: "list", namespace: "default", resource: "pods" },
    ],
    ["GET", "/api/v1/namespaces/default/pods?watch=true", { verb: "watch" }],
    [
      "GET",
      "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb",
      { verb: "list", name: "web" },
    ],
    [
      "GET",
      "/api/v1/namespaces/default/pods/web/log",
      { verb: "get", name: "web", subresource: "log" },
    ],
    ["DELETE", "/api/v1/namespaces/default/pods", { verb: "deletecollection" }],
    [
      "PATCH",
      "/apis/apps/v1/namespaces/x/deployments/d/scale",
      { verb: "patch", apiGroup: "apps", subresource: "scale" },
    ],
    [
      "GET",
      "/api/v1/namespaces/team",
      { verb: "get", resource: "namespaces", namespace: "team", name: "team" },
    ],
    ["GET", "/apis/apps/v1", { verb: "get", resourceRequest: false, path: "/apis/apps/v1" }],
    ["HEAD", "/healthz", { verb: "get", resourceRequest: false, path: "/healthz" }],
  ];
  for (const [method, url, want] of cases) {
    const got = requestAttributes(method, url);
    for (const [k, v] of Object.entries(want))
      assert.equal(got[k as keyof Attributes], v, `${method} ${url} ${k}`);
  }
});

function source(objects: KubeObject[]): PolicySource {
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    clusterRoleBindings: () => of("ClusterRoleBinding"),
    roleBindings: (ns) => of("RoleBinding").filter((b) => b.metadata.namespace === ns),
    clusterRole: (name) => of("ClusterRole").find((r) => r.metadata.name === name),
    role: (ns, name) =>
      of("Role").find((r) => r.metadata.name === name && r.metadata.namespace === ns),
  };
}

test("the authorizer follows bindings to roles, for users, groups and service accounts", () => {
  const authorizer = createAuthorizer(
    source([
      {
        kind: "Role",
        metadata: { name: "reader", namespace: "a" },
        rules: [{ verbs: ["list"], apiGroups: [""], resources: ["pods"] }],
      } as KubeObject,
      {
        kind: "RoleBinding",
        metadata: { name: "rb", namespace: "a" },
        roleRef: { kind: "Role", name: "reader" },
        subjects: [
          { kind: "ServiceAccount", name: "bot" },
          { kind: "Group", name: "dev" },
        ],
      } as KubeObject,
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "broken" },
        roleRef: { kind: "ClusterRole", name: "gone" },
        subjects: [{ kind: "User", name: "eve" }],
      } as KubeObject,
    ]),
  );
  const list = attrs({ verb: "list", namespace: "a" });
  const bot = { name: "system:serviceaccount:a:bot", groups: [] };
  assert.deepEqual(authorizer.authorize(bot, list), {
    allowed: true,
    reason: 'RBAC: allowed by RoleBinding "rb/a" of Role "reader" to ServiceAccount "bot/a"',
  });
  assert.equal(authorizer.authorize({ name: "x", groups: ["dev"] }, list).allowed, true);
  assert.equal(authorizer.authorize(bot, { ...list, namespace: "b" }).allowed, false);
  assert.equal(
    authorizer.authorize({ name: "root", groups: ["system:masters"] }, list).allowed,
    true,
  );
  const eve = authorizer.authorize({ name: "eve", groups: [] }, list);
  assert.deepEqual(eve, {
    allowed: false,
    reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
  });
  assert.equal(
    forbidden("eve", list, eve.reason).message,
    'pods is forbidden: User "eve" cannot list resource "pods" in API group "" in the namespace "a": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
  );
});

test("uncovered lists the rules an owner does not hold, compacted as kube words them", () => {
  const owner = [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }];
  assert.deepEqual(
    uncovered(owner, [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }]),
    [],
  );
  assert.deepEqual(
    uncovered(owner, [
      { verbs: ["get", "delete", "watch"], apiGroups: [""], resources: ["pods", "secrets"] },
    ]),
    [
      '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}',
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete" "watch"]}',
    ],
  );
  assert.deepEqual(
    uncovered(
      [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
      [{ verbs: ["get"], nonResourceURLs: ["/x"] }],
    ),
    ['{NonResourceURLs:["/x"], Verbs:["get"]}'],
  );
});
