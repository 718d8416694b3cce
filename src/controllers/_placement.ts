/**
 * Where a pod may go, as kube's component-helpers (`scheduling/corev1`, `…/nodeaffinity`) answer
 * it for the scheduler and the DaemonSet controller alike:
 *
 * - the required node affinity (`spec.affinity.nodeAffinity.requiredDuringScheduling
 *   IgnoredDuringExecution`): the node must match at least one of `nodeSelectorTerms`; a term
 *   matches when all its `matchExpressions` hold for the node's labels and all its `matchFields`
 *   for the node's fields (only `metadata.name`); a term with neither matches nothing. Operators
 *   In, NotIn, Exists, DoesNotExist, Gt and Lt (integers), as label selectors have them. The
 *   preferred terms only weigh in scoring, so they are not read. Compiled once per pod, then
 *   asked for each node;
 * - `spec.nodeSelector`: every pair among the node's labels;
 * - taints and tolerations: a toleration matches a taint when its effect is empty or the same,
 *   its key empty (with `Exists`) or the same, and with `Exists` or an equal value.
 *
 * @module
 */
import type {
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  Taint,
  Toleration,
} from "kubernetes-types/core/v1.js";
import { type LabelOperator, type LabelSelector, matches } from "../api/labels.ts";

const OPERATORS: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
  Gt: "gt",
  Lt: "lt",
};

/** Whether a node (its labels and name) satisfies the pod's required node affinity. */
export type AffinityCheck = (labels: Readonly<Record<string, string>>, name: string) => boolean;

const ANY_NODE: AffinityCheck = () => true;

function selector(reqs: readonly NodeSelectorRequirement[] | undefined): LabelSelector {
  return {
    requirements: (reqs ?? []).map((r) => {
      const operator = OPERATORS[r.operator];
      // An unknown operator matches nothing (validation rejects it at create).
      if (!operator) return { key: r.key, operator: "in", values: [] };
      return { key: r.key, operator, values: [...(r.values ?? [])].sort() };
    }),
  };
}

function term(t: NodeSelectorTerm): AffinityCheck {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return () => false;
  const labels = selector(exprs);
  const byField = selector(fields);
  return (nodeLabels, name) =>
    matches(labels, nodeLabels as Record<string, string>) &&
    matches(byField, { "metadata.name": name });
}

export function compileNodeAffinity(pod: Pod): AffinityCheck {
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return ANY_NODE;
  const terms = required.nodeSelectorTerms.map(term);
  return (labels, name) => terms.some((t) => t(labels, name));
}

/** The pod's `spec.nodeSelector` holds for these node labels. */
export function matchesNodeSelector(pod: Pod, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {}))
    if (labels[k] !== v) return false;
  return true;
}

/**
 * kube's `GetRequiredNodeAffinity(pod).Match(node)`: the node selector and the required node
 * affinity both hold for the node.
 */
export function fitsNodeAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return (
    matchesNodeSelector(pod, labels) && compileNodeAffinity(pod)(labels, node.metadata?.name ?? "")
  );
}

export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === "Exists";
    if (t.key !== taint.key) return false;
    if (t.operator === "Exists") return true;
    return (t.value ?? "") === (taint.value ?? "");
  });
}

/** The first of `taints` that `include` selects and no toleration tolerates (kube's FindMatchingUntoleratedTaint). */
export function untoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  include: (taint: Taint) => boolean,
): Taint | undefined {
  return taints.find((t) => include(t) && !tolerates(tolerations, t));
}
