/**
 * A pod's required node affinity (`spec.affinity.nodeAffinity.requiredDuringScheduling
 * IgnoredDuringExecution`) as kube-scheduler's NodeAffinity filter reads it: the node must match
 * at least one of `nodeSelectorTerms`; a term matches when all its `matchExpressions` hold for the
 * node's labels and all its `matchFields` for the node's fields (only `metadata.name`); a term
 * with neither matches nothing. Operators In, NotIn, Exists, DoesNotExist, Gt and Lt (integers),
 * as label selectors have them. The preferred terms only weigh in scoring, which this scheduler
 * does by pod count alone, so they are not read.
 *
 * Compiled once per pod, then asked for each node.
 *
 * @module
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod } from "kubernetes-types/core/v1.js";
import { type LabelOperator, type LabelSelector, matches } from "../../api/labels.ts";

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
