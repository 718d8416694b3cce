import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { reconcileBinding, reconcileRole } from "./_reconcile.ts";
import { ensureBootstrapPolicy } from "./index.ts";

const AUTO = { "rbac.authorization.kubernetes.io/autoupdate": "true" };
const role = (rules: unknown[], annotations: Record<string, string> = AUTO): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "r", annotations, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
  rules,
});
const podsRead = { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] };
const nodesGet = { apiGroups: [""], resources: ["nodes"], verbs: ["get"] };
const everything = { apiGroups: ["*"], resources: ["*"], verbs: ["*"] };

test("bootstrap roles get missing rules and keep extra ones, unless autoupdate is false", () => {
  const cases: Array<{ name: string; existing: KubeObject; rules?: unknown[] }> = [
    { name: "nothing missing", existing: role([podsRead, nodesGet]) },
    {
      name: "a rule removed comes back after the user's",
      existing: role([nodesGet, { apiGroups: ["apps"], resources: ["x"], verbs: ["get"] }]),
      rules: [nodesGet, { apiGroups: ["apps"], resources: ["x"], verbs: ["get"] }, podsRead],
    },
    { name: "a broader rule covers the expected ones", existing: role([everything]) },
    {
      name: "autoupdate false is left alone",
      existing: role([], { "rbac.authorization.kubernetes.io/autoupdate": "false" }),
    },
  ];
  for (const c of cases) {
    const result = reconcileRole(c.existing, role([podsRead, nodesGet]));
    if (!c.rules) {
      assert.deepEqual(result, { action: "none" }, c.name);
      continue;
    }
    assert.equal(result.action, "update", c.name);
    assert.deepEqual(
      (result as unknown as { object: { rules: unknown } }).object.rules,
      c.rules,
      c.name,
    );
  }
});

const binding = (role: string, subjects: unknown[]): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: "b", annotations: AUTO },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects,
});
const sched = {
  apiGroup: "rbac.authorization.k8s.io",
  kind: "User",
  name: "system:kube-scheduler",
};
const alice = { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" };

test("bootstrap bindings get missing subjects, keep extra ones, and are recreated for another role", () => {
  assert.deepEqual(reconcileBinding(binding("r", [sched]), binding("r", [sched])), {
    action: "none",
  });
  const added = reconcileBinding(binding("r", [alice]), binding("r", [sched]));
  assert.equal(added.action, "update");
  assert.deepEqual((added as unknown as { object: { subjects: unknown } }).object.subjects, [
    alice,
    sched,
  ]);
  assert.equal(
    reconcileBinding(binding("other", [sched]), binding("r", [sched])).action,
    "recreate",
  );
});

test("a restart puts back a controller role's removed rule and a component binding's subject", () => {
  const store = openStore({ backend: "memory" });
  const { registry } = createRegistry(store);
  const ref = (resource: string) => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource,
  });
  ensureBootstrapPolicy(registry);
  const name = "system:controller:deployment-controller";
  const original = registry.getSync(ref("clusterroles"), "", name) as KubeObject & {
    rules: Array<{ resources: string[] }>;
  };
  assert.ok(original.rules.some((r) => r.resources.includes("replicasets")));
  const edited = structuredClone(original);
  edited.rules = edited.rules.filter((r) => !r.resources.includes("replicasets"));
  edited.rules.push({ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] } as never);
  registry.updateSync(ref("clusterroles"), "", edited);
  const b = structuredClone(
    registry.getSync(ref("clusterrolebindings"), "", "system:kube-scheduler"),
  );
  (b as KubeObject & { subjects: unknown[] }).subjects = [alice];
  registry.updateSync(ref("clusterrolebindings"), "", b);

  ensureBootstrapPolicy(registry);
  const after = registry.getSync(ref("clusterroles"), "", name) as typeof original;
  assert.ok(
    after.rules.some((r) => r.resources.includes("replicasets")),
    "rule put back",
  );
  assert.ok(
    after.rules.some((r) => r.resources.includes("configmaps")),
    "extra rule kept",
  );
  const subjects = (
    registry.getSync(ref("clusterrolebindings"), "", "system:kube-scheduler") as KubeObject & {
      subjects: unknown[];
    }
  ).subjects;
  assert.deepEqual(subjects, [alice, sched]);
  const controllerBinding = registry.getSync(
    ref("clusterrolebindings"),
    "",
    "system:controller:deployment-controller",
  ) as KubeObject & { subjects: unknown[] };
  assert.deepEqual(controllerBinding.subjects, [
    {
      apiGroup: "",
      kind: "ServiceAccount",
      name: "deployment-controller",
      namespace: "kube-system",
    },
  ]);
  const node = registry.getSync(ref("clusterrolebindings"), "", "system:node");
  assert.equal("subjects" in node, false, "system:node is bound to nobody, as in kube");
  // A start with nothing to put back writes nothing.
  const revision = store.revision();
  ensureBootstrapPolicy(registry);
  assert.equal(store.revision(), revision);
});
