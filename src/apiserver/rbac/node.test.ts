import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../../api/verbs.ts";
import { openStore } from "../../store/index.ts";
import type { UserInfo } from "../authn.ts";
import { createRegistry } from "../index.ts";
import { createInProcessClient } from "../inprocess.ts";

const POD: ResourceRef = { group: "", version: "v1", resource: "pods" };
const POD_STATUS: ResourceRef = { ...POD, subresource: "status" };
const SECRET: ResourceRef = { group: "", version: "v1", resource: "secrets" };
const CM: ResourceRef = { group: "", version: "v1", resource: "configmaps" };
const NODE: ResourceRef = { group: "", version: "v1", resource: "nodes" };
const LEASE: ResourceRef = { group: "coordination.k8s.io", version: "v1", resource: "leases" };
const TOKEN: ResourceRef = {
  group: "",
  version: "v1",
  resource: "serviceaccounts",
  subresource: "token",
};
const CLUSTERROLE: ResourceRef = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "clusterroles",
};
const CRB: ResourceRef = { ...CLUSTERROLE, resource: "clusterrolebindings" };

const node = (name: string): UserInfo => ({
  name: `system:node:${name}`,
  groups: ["system:nodes", "system:authenticated"],
});

function setup() {
  const { registry, rbac } = createRegistry(openStore({ backend: "memory" }));
  const admin = createInProcessClient(registry);
  const as = (user: UserInfo): ApiVerbs =>
    createInProcessClient(registry, { identity: { user, authorize: rbac.authorizeCall } });
  const pod = (name: string, nodeName: string, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName, containers: [{ name: "c", image: "x" }], ...spec },
  });
  return { registry, rbac, admin, as, pod };
}

/** The 403's message, or "allowed". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "allowed";
  } catch (e) {
    if (isStatusError(e, "Forbidden")) return (e as Error).message;
    if (isStatusError(e, "NotFound")) return "allowed (not found)";
    throw e;
  }
}

test("a node reads only the secrets and configmaps of pods bound to it, with kube's reason otherwise", async () => {
  const { admin, as, pod } = setup();
  await admin.create(
    POD,
    "default",
    pod("web", "n1", {
      volumes: [{ name: "v", secret: { secretName: "vol" } }],
      imagePullSecrets: [{ name: "pull" }],
      containers: [
        {
          name: "c",
          image: "x",
          env: [{ name: "A", valueFrom: { configMapKeyRef: { name: "envcm", key: "a" } } }],
          envFrom: [{ secretRef: { name: "envsec" } }],
        },
      ],
    }),
  );
  const n1 = as(node("n1"));
  const n2 = as(node("n2"));
  const cases: Array<[string, Promise<unknown>, string | RegExp]> = [
    ["volume secret, own pod", n1.get(SECRET, "default", "vol"), "allowed (not found)"],
    ["pull secret, own pod", n1.get(SECRET, "default", "pull"), "allowed (not found)"],
    ["envFrom secret", n1.get(SECRET, "default", "envsec"), "allowed (not found)"],
    ["env configmap", n1.get(CM, "default", "envcm"), "allowed (not found)"],
    [
      "a secret no pod of it uses",
      n1.get(SECRET, "default", "other"),
      `secrets "other" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n1' and this object`,
    ],
    [
      "another node's pod's secret",
      n2.get(SECRET, "default", "vol"),
      /no relationship found between node 'n2'/,
    ],
    [
      "listing secrets",
      n1.list(SECRET, "default"),
      /can only read resources of this type|cannot list/,
    ],
    [
      "one secret by field selector",
      n1.list(SECRET, "default", { fieldSelector: "metadata.name=vol" }),
      "allowed",
    ],
    [
      "a token for its pod's account",
      n1.create(TOKEN, "default", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: { name: "default" },
        spec: { audiences: [] },
      }),
      /allowed|not found/,
    ],
    [
      "a token for another account",
      n1.create(TOKEN, "default", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: { name: "builder" },
        spec: {},
      }),
      /no relationship found/,
    ],
    ["pods are readable (system:node)", n2.list(POD, ""), "allowed"],
  ];
  for (const [what, call, want] of cases) {
    const got = await outcome(call);
    if (typeof want === "string") assert.equal(got, want, what);
    else assert.match(got, want, what);
  }
});

test("NodeRestriction: a node writes only its own Node, Lease and the status of its pods", async () => {
  const { admin, as, pod } = setup();
  await admin.create(POD, "default", pod("mine", "n1"));
  await admin.create(POD, "default", pod("theirs", "n2"));
  const n1 = as(node("n1"));
  const nodeObj = (name: string, labels: Record<string, string> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
  });
  const lease = (name: string): KubeObject => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease" },
    spec: { holderIdentity: name },
  });
  const status = { status: { phase: "Running" } };
  const cases: Array<[string, () => Promise<unknown>, string | RegExp]> = [
    ["its own Node", () => n1.create(NODE, "", nodeObj("n1")), "allowed"],
    [
      "another Node",
      () => n1.create(NODE, "", nodeObj("n2")),
      /node "n1" is not allowed to modify node "n2"/,
    ],
    [
      "a restricted label",
      () =>
        n1.patch(NODE, "", "n1", "merge", {
          metadata: { labels: { "node-restriction.kubernetes.io/x": "y" } },
        }),
      /not allowed to modify labels: node-restriction.kubernetes.io\/x/,
    ],
    ["its own Lease", () => n1.create(LEASE, "kube-node-lease", lease("n1")), "allowed"],
    [
      "another Lease",
      () => n1.create(LEASE, "kube-node-lease", lease("n2")),
      /same name as the requesting node/,
    ],
    [
      "another Lease by name",
      () => n1.get(LEASE, "kube-node-lease", "n2"),
      /same name as the requesting node/,
    ],
    ["its pod's status", () => n1.patch(POD_STATUS, "default", "mine", "merge", status), "allowed"],
    [
      "another node's pod's status",
      () => n1.patch(POD_STATUS, "default", "theirs", "merge", status),
      /node "n1" can only update pod status for pods with spec.nodeName set to itself/,
    ],
    [
      "a pod's spec (the system:node rules have no pod patch)",
      () => n1.patch(POD, "default", "mine", "merge", { metadata: { labels: { a: "b" } } }),
      /User "system:node:n1" cannot patch resource "pods"/,
    ],
    [
      "a pod that is not a mirror pod",
      () => n1.create(POD, "default", pod("new", "n1")),
      /can only create mirror pods/,
    ],
    [
      "a mirror pod of its own",
      () =>
        n1.create(POD, "default", {
          ...pod("static-n1", "n1"),
          metadata: {
            name: "static-n1",
            namespace: "default",
            annotations: { "kubernetes.io/config.mirror": "x" },
          },
        }),
      "allowed",
    ],
    [
      "a mirror pod using a secret",
      () =>
        n1.create(POD, "default", {
          ...pod("static-s", "n1", { volumes: [{ name: "v", secret: { secretName: "s" } }] }),
          metadata: {
            name: "static-s",
            namespace: "default",
            annotations: { "kubernetes.io/config.mirror": "x" },
          },
        }),
      /can not create pods that reference secrets/,
    ],
    [
      "deleting another node's pod",
      () => n1.delete(POD, "default", "theirs"),
      /can only delete pods with spec.nodeName set to itself/,
    ],
    ["deleting its pod", () => n1.delete(POD, "default", "mine"), "allowed"],
  ];
  for (const [what, call, want] of cases) {
    const got = await outcome(call());
    if (typeof want === "string") assert.equal(got, want, what);
    else assert.match(got, want, what);
  }
});

test("an in-process client with an identity is refused as HTTP is and writes as its user", async () => {
  const { admin, as } = setup();
  const sa: UserInfo = {
    name: "system:serviceaccount:kube-system:deployment-controller",
    groups: [
      "system:serviceaccounts",
      "system:serviceaccounts:kube-system",
      "system:authenticated",
    ],
  };
  const dc = as(sa);
  const rs = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "r", namespace: "default" },
    spec: {
      selector: { matchLabels: { a: "b" } },
      template: {
        metadata: { labels: { a: "b" } },
        spec: { containers: [{ name: "c", image: "x" }] },
      },
    },
  };
  const RS: ResourceRef = { group: "apps", version: "v1", resource: "replicasets" };
  assert.equal(await outcome(dc.create(RS, "default", rs)), "allowed");
  assert.match(
    await outcome(dc.get(SECRET, "default", "x")),
    /^secrets "x" is forbidden: User "system:serviceaccount:kube-system:deployment-controller" cannot get resource "secrets" in API group "" in the namespace "default"$/,
  );
  assert.throws(
    () => dc.watch(SECRET, "", {}, () => {}),
    /cannot watch resource "secrets" in API group "" at the cluster scope/,
  );
  await admin.delete(CRB, "", "system:controller:deployment-controller");
  assert.match(
    await outcome(
      dc.create(RS, "default", { ...rs, metadata: { name: "r2", namespace: "default" } }),
    ),
    /replicasets.apps is forbidden: User "system:serviceaccount:kube-system:deployment-controller" cannot create resource "replicasets"/,
  );
});

test("only escalate holders give a ClusterRole an aggregationRule", async () => {
  const { admin, as } = setup();
  const writer: UserInfo = { name: "writer", groups: ["system:authenticated"] };
  await admin.create(CLUSTERROLE, "", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "role-writer" },
    rules: [
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterroles"],
        verbs: ["create", "update", "get"],
      },
    ],
  });
  await admin.create(CRB, "", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "role-writer" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "role-writer" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "writer" }],
  });
  const aggregated = (name: string): KubeObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] },
  });
  const w = as(writer);
  assert.match(
    await outcome(w.create(CLUSTERROLE, "", aggregated("agg"))),
    /^clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule$/,
  );
  await w.create(CLUSTERROLE, "", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "plain" },
    rules: [],
  });
  const plain = await admin.get(CLUSTERROLE, "", "plain");
  assert.match(
    await outcome(w.update(CLUSTERROLE, "", { ...aggregated("plain"), metadata: plain.metadata })),
    /must have cluster-admin privileges to use the aggregationRule/,
  );
  await admin.patch(CLUSTERROLE, "", "role-writer", "json", [
    { op: "add", path: "/rules/0/verbs/-", value: "escalate" },
  ]);
  assert.equal(await outcome(w.create(CLUSTERROLE, "", aggregated("agg"))), "allowed");
});
