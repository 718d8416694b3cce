import assert from "node:assert/strict";
import { test } from "node:test";
import { createRegistry, INGRESS_CONTROLLER_ROLE } from "../apiserver/index.ts";
import { CONTROLLERS } from "../controllers/index.ts";
import { openStore } from "../store/index.ts";
import {
  CONTROLLER_IDENTITIES,
  componentAccounts,
  controllerUser,
  DNS_ACCOUNT,
  INGRESS_ACCOUNT,
  INGRESS_CONTROLLER,
  KUBE_CONTROLLER_MANAGER,
  nodeAgentUser,
  nodeUser,
} from "./identities.ts";

const RBAC = (resource: string) => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource,
});

test("every controller the cluster runs has a kube identity", () => {
  for (const c of CONTROLLERS) {
    assert.ok(c.name in CONTROLLER_IDENTITIES, `${c.name} has no identity`);
  }
  assert.deepEqual(controllerUser("deployment"), {
    name: "system:serviceaccount:kube-system:deployment-controller",
    groups: [
      "system:serviceaccounts",
      "system:serviceaccounts:kube-system",
      "system:authenticated",
    ],
  });
  assert.equal(controllerUser("scheduler").name, "system:kube-scheduler");
  assert.equal(controllerUser("serviceaccount-token"), KUBE_CONTROLLER_MANAGER);
});

test("each component ServiceAccount is bound to its bootstrap role, as kube's policy binds it", () => {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  for (const sa of componentAccounts()) {
    const binding =
      sa === DNS_ACCOUNT
        ? "system:coredns"
        : sa === INGRESS_ACCOUNT
          ? INGRESS_CONTROLLER_ROLE
          : `system:controller:${sa}`;
    const crb = registry.getSync(RBAC("clusterrolebindings"), "", binding);
    assert.deepEqual(crb.subjects, [
      { kind: "ServiceAccount", name: sa, namespace: "kube-system", apiGroup: "" },
    ]);
    registry.getSync(RBAC("clusterroles"), "", binding);
  }
});

test("the ingress controller acts as its ServiceAccount, which may do what an ingress controller does and no more", () => {
  const { registry, rbac } = createRegistry(openStore({ backend: "memory" }));
  assert.equal(INGRESS_CONTROLLER.name, "system:serviceaccount:kube-system:ingress-controller");
  assert.ok(componentAccounts().includes(INGRESS_ACCOUNT));
  const crb = registry.getSync(RBAC("clusterrolebindings"), "", INGRESS_CONTROLLER_ROLE);
  assert.deepEqual(crb.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: INGRESS_CONTROLLER_ROLE,
  });
  const can = (verb: string, apiGroup: string, resource: string, subresource = "") =>
    rbac.authorizeCall(INGRESS_CONTROLLER, {
      verb,
      resourceRequest: true,
      path: "",
      apiGroup,
      apiVersion: "v1",
      resource,
      subresource,
      namespace: "shop",
      name: "",
    }) === undefined;
  const cases: Array<[string, string, string, string, boolean]> = [
    ["watch", "networking.k8s.io", "ingresses", "", true],
    ["list", "networking.k8s.io", "ingressclasses", "", true],
    ["update", "networking.k8s.io", "ingresses", "status", true],
    ["list", "", "services", "", true],
    ["watch", "discovery.k8s.io", "endpointslices", "", true],
    ["watch", "", "secrets", "", true],
    ["create", "", "events", "", true],
    ["patch", "", "events", "", true],
    ["update", "networking.k8s.io", "ingresses", "", false],
    ["create", "networking.k8s.io", "ingressclasses", "", false],
    ["delete", "", "pods", "", false],
    ["create", "", "secrets", "", false],
    ["list", "", "configmaps", "", false],
  ];
  for (const [verb, group, resource, sub, want] of cases) {
    const what = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    assert.equal(can(verb, group, resource, sub), want, what);
  }
});

test("a node agent of several nodes acts as the node each call is about", () => {
  const { registry, rbac } = createRegistry(openStore({ backend: "memory" }));
  const pick = nodeAgentUser(["a", "b"], registry, rbac.authorizeCall);
  assert.equal(typeof pick, "function");
  if (typeof pick !== "function") return;
  const attrs = (over: Record<string, string>) => ({
    verb: "get",
    resourceRequest: true,
    path: "",
    apiGroup: "",
    apiVersion: "v1",
    resource: "nodes",
    subresource: "",
    namespace: "",
    name: "",
    ...over,
  });
  const cases: Array<[string, ReturnType<typeof attrs>, string]> = [
    ["its Node b", attrs({ name: "b" }), "system:node:b"],
    [
      "its Lease b",
      attrs({
        apiGroup: "coordination.k8s.io",
        resource: "leases",
        namespace: "kube-node-lease",
        name: "b",
      }),
      "system:node:b",
    ],
    ["anything else", attrs({ resource: "services", verb: "list" }), "system:node:a"],
  ];
  for (const [what, a, want] of cases) assert.equal(pick(a, undefined).name, want, what);
  assert.deepEqual(nodeAgentUser(["solo"], registry, rbac.authorizeCall), nodeUser("solo"));
});
