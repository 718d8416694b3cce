/**
 * kube-apiserver's reconciliation of its bootstrap policy at each start (`rbac/bootstrap-roles`,
 * `kubectl auth reconcile`'s rules): an existing bootstrap object annotated
 * `rbac.authorization.kubernetes.io/autoupdate: "true"` gets what is missing (labels and
 * annotations it lacks, rules none of its rules cover, aggregation selectors, binding subjects)
 * and keeps everything extra a user added. One annotated `"false"` is left alone. A binding
 * whose `roleRef` differs is to be replaced (`roleRef` is immutable).
 *
 * Missing rules are appended whole, where kube appends them broken down one verb and one
 * resource at a time; the permissions granted are the same.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import { uncovered } from "./_covers.ts";
import type { PolicyRule } from "./_rules.ts";

const AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate";

export type Reconciled =
  | { action: "none" }
  | { action: "update"; object: KubeObject }
  | { action: "recreate"; object: KubeObject };

const json = (v: unknown) => JSON.stringify(v);

function mergeMeta(existing: KubeObject, expected: KubeObject): KubeObject["metadata"] {
  const meta = { ...existing.metadata };
  for (const field of ["labels", "annotations"] as const) {
    const merged = { ...expected.metadata[field], ...existing.metadata[field] };
    if (Object.keys(merged).length > 0) meta[field] = merged;
  }
  return meta;
}

type Role = KubeObject & {
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: unknown[] };
};

/** What to do with the stored bootstrap ClusterRole `existing` given kube's `expected`. */
export function reconcileRole(existing: KubeObject, expected: KubeObject): Reconciled {
  if (existing.metadata.annotations?.[AUTOUPDATE] === "false") return { action: "none" };
  const have = existing as Role;
  const want = expected as Role;
  const next = structuredClone(have) as Role;
  next.metadata = mergeMeta(existing, expected);
  const rules = [...(have.rules ?? [])];
  for (const rule of want.rules ?? []) {
    if (uncovered(rules, [rule]).length > 0) rules.push(structuredClone(rule));
  }
  next.rules = rules;
  if (want.aggregationRule) {
    const selectors = [...(have.aggregationRule?.clusterRoleSelectors ?? [])];
    for (const s of want.aggregationRule.clusterRoleSelectors ?? []) {
      if (!selectors.some((x) => json(x) === json(s))) selectors.push(structuredClone(s));
    }
    next.aggregationRule = { clusterRoleSelectors: selectors };
  }
  return json(next) === json(have) ? { action: "none" } : { action: "update", object: next };
}

type Binding = KubeObject & { roleRef?: unknown; subjects?: Array<Record<string, unknown>> };

const subjectKey = (s: Record<string, unknown>) =>
  `${s.kind}\u0000${s.namespace ?? ""}\u0000${s.name}`;

/** What to do with the stored bootstrap ClusterRoleBinding `existing` given `expected`. */
export function reconcileBinding(existing: KubeObject, expected: KubeObject): Reconciled {
  if (existing.metadata.annotations?.[AUTOUPDATE] === "false") return { action: "none" };
  const have = existing as Binding;
  const want = expected as Binding;
  if (json(have.roleRef) !== json(want.roleRef)) {
    return { action: "recreate", object: structuredClone(want) };
  }
  const next = structuredClone(have) as Binding;
  next.metadata = mergeMeta(existing, expected);
  const subjects = [...(have.subjects ?? [])];
  const keys = new Set(subjects.map(subjectKey));
  for (const s of want.subjects ?? []) {
    if (!keys.has(subjectKey(s))) subjects.push(structuredClone(s));
  }
  if (subjects.length > 0 || have.subjects) next.subjects = subjects;
  return json(next) === json(have) ? { action: "none" } : { action: "update", object: next };
}
