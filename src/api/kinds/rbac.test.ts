import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import {
  clusterRoleBindingStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategy,
} from "./rbac.ts";
import type { KindStrategy } from "./types.ts";

const role = (rules: unknown[]) =>
  ({ metadata: { name: "r", namespace: "a" }, rules }) as KubeObject;
const binding = (over: Record<string, unknown>, namespace?: string) =>
  ({
    metadata: namespace ? { name: "b", namespace } : { name: "b" },
    roleRef: { kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", name: "alice" }],
    ...over,
  }) as KubeObject;

function errors(strategy: KindStrategy, obj: KubeObject): string[] {
  const copy = structuredClone(obj);
  strategy.applyDefaults(copy);
  return strategy.validate(copy).map((e) => `${e.field}: ${e.message}`);
}

test("RBAC kinds validate rules, aggregation, roleRefs and subjects with kube's messages", () => {
  const cases: Array<[string, KindStrategy, KubeObject, string[]]> = [
    [
      "a valid role",
      roleStrategy,
      role([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]),
      [],
    ],
    [
      "no verbs",
      roleStrategy,
      role([{ apiGroups: [""], resources: ["pods"], verbs: [] }]),
      ["rules[0].verbs: Required value: verbs must contain at least one value"],
    ],
    [
      "no api groups",
      roleStrategy,
      role([{ resources: ["pods"], verbs: ["get"] }]),
      ["rules[0].apiGroups: Required value: resource rules must supply at least one api group"],
    ],
    [
      "URLs in a namespaced role",
      roleStrategy,
      role([{ nonResourceURLs: ["/healthz"], verbs: ["get"] }]),
      [
        'rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs',
      ],
    ],
    [
      "URLs beside resources",
      clusterRoleStrategy,
      {
        metadata: { name: "c" },
        rules: [{ nonResourceURLs: ["/x"], resources: ["pods"], verbs: ["get"] }],
      } as KubeObject,
      [
        'rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both regular resources and non-resource URLs',
      ],
    ],
    [
      "an empty aggregation rule",
      clusterRoleStrategy,
      { metadata: { name: "c" }, aggregationRule: {} } as KubeObject,
      [
        "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil",
      ],
    ],
    ["a valid binding (apiGroups defaulted)", roleBindingStrategy, binding({}, "a"), []],
    [
      "a Role from a ClusterRoleBinding",
      clusterRoleBindingStrategy,
      binding({ roleRef: { kind: "Role", name: "r" } }),
      ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'],
    ],
    [
      "a cluster binding's service account needs a namespace",
      clusterRoleBindingStrategy,
      binding({ subjects: [{ kind: "ServiceAccount", name: "bot" }] }),
      ["subjects[0].namespace: Required value"],
    ],
    [
      "an unknown subject kind",
      roleBindingStrategy,
      binding({ subjects: [{ kind: "Robot", name: "x" }] }, "a"),
      [
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      ],
    ],
  ];
  for (const [name, strategy, obj, want] of cases)
    assert.deepEqual(errors(strategy, obj), want, name);
});

test("a binding's roleRef never changes and its rows name the role and subjects", () => {
  const old = binding({}, "a");
  roleBindingStrategy.applyDefaults(old);
  const changed = structuredClone(old);
  (changed.roleRef as { name: string }).name = "edit";
  assert.deepEqual(
    roleBindingStrategy.validateUpdate(changed, old).map((e) => `${e.field}: ${e.message}`),
    [
      'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef',
    ],
  );
  const row = clusterRoleBindingStrategy.row(
    binding({
      subjects: [
        { kind: "User", name: "a" },
        { kind: "Group", name: "g" },
        { kind: "ServiceAccount", name: "s", namespace: "n" },
      ],
    }),
    0,
  );
  assert.deepEqual([row[1], row[3], row[4], row[5]], ["ClusterRole/view", "a", "g", "n/s"]);
});
