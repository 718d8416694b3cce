import assert from "node:assert/strict";
import { test } from "node:test";
import { createRegistry } from "../apiserver/index.ts";
import { CONTROLLERS } from "../controllers/index.ts";
import { openStore } from "../store/index.ts";
import {
  CONTROLLER_IDENTITIES,
  componentAccounts,
  controllerUser,
  DNS_ACCOUNT,
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
    const binding = sa === DNS_ACCOUNT ? "system:coredns" : `system:controller:${sa}`;
    const crb = registry.getSync(RBAC("clusterrolebindings"), "", binding);
    assert.deepEqual(crb.subjects, [
      { kind: "ServiceAccount", name: sa, namespace: "kube-system", apiGroup: "" },
    ]);
    registry.getSync(RBAC("clusterroles"), "", binding);
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
