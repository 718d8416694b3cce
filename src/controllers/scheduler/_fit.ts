/**
 * Whether a pod fits a node, and kube-scheduler's explanation when it fits none
 * (`pkg/scheduler/framework/plugins/{nodename,nodeunschedulable,nodeaffinity,tainttoleration,
 * noderesources}`):
 * - `spec.nodeName` preset → only that node ("node(s) didn't match the requested node name");
 * - `spec.unschedulable` → "node(s) were unschedulable" unless the pod tolerates
 *   `node.kubernetes.io/unschedulable:NoSchedule`;
 * - `spec.nodeSelector`, and the required node affinity (see ../_placement.ts) → "node(s) didn't
 *   match Pod's node affinity/selector";
 * - NoSchedule/NoExecute taints not tolerated → "node(s) had untolerated taint {key: value}".
 *   A node whose Ready condition is not True counts as tainted `node.kubernetes.io/not-ready`,
 *   the taint kube's node lifecycle controller would put on it;
 * - NodeResourcesFit: "Too many pods" past `allocatable.pods`, and "Insufficient <resource>"
 *   for each resource the pod requests (see _resources.ts) beyond what the node has left.
 *
 * Pure functions; the fit error message is built as kube's FitError prints it, with no
 * preemption: a node that fails only on capacity answers "No preemption victims found for
 * incoming pod" (all pods have the same priority), every other "Preemption is not helpful for
 * scheduling".
 *
 * @module
 */
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import {
  type AffinityCheck,
  compileNodeAffinity,
  matchesNodeSelector,
  tolerates,
} from "../_placement.ts";
import {
  allocatable,
  NO_RESOURCES,
  podRequests,
  type Resources,
  shortfalls,
} from "./_resources.ts";

export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

export const REASON = {
  nodeName: "node(s) didn't match the requested node name",
  unschedulable: "node(s) were unschedulable",
  selector: "node(s) didn't match Pod's node affinity/selector",
  tooManyPods: "Too many pods",
} as const;

/** The pods a node takes (`status.allocatable.pods`); unbounded when it says nothing. */
export function podCapacity(node: Node): number {
  const v = Number(node.status?.allocatable?.pods ?? Number.NaN);
  return Number.isInteger(v) && v >= 0 ? v : Number.POSITIVE_INFINITY;
}

export function nodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** What of a node scheduling reads, computed once per node object, not per pod and node. */
export interface NodeFacts {
  name: string;
  /** Pods it takes (`status.allocatable.pods`). */
  capacity: number;
  /** The rest of `status.allocatable`, in thousandths. */
  allocatable: Resources;
  unschedulable: boolean;
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
}

export function nodeFacts(node: Node): NodeFacts {
  const taints = (node.spec?.taints ?? []).filter(
    (t) => t.effect === "NoSchedule" || t.effect === "NoExecute",
  );
  if (!nodeReady(node) && !taints.some((t) => t.key === NOT_READY_TAINT))
    taints.push({ key: NOT_READY_TAINT, effect: "NoSchedule" });
  return {
    name: node.metadata?.name ?? "",
    capacity: podCapacity(node),
    allocatable: allocatable(node),
    unschedulable: node.spec?.unschedulable === true,
    labels: node.metadata?.labels ?? {},
    taints,
  };
}

/**
 * A node as the search sees it: its facts and its load, the non-terminal pods on it (including
 * assumed ones) and the sum of their requests, counters the scheduler keeps current, so a
 * search reads plain fields only.
 */
export interface Candidate {
  facts: NodeFacts;
  load: NodeLoad;
}

export interface NodeLoad {
  pods: number;
  requested: Record<string, number>;
}

/** Candidates for `nodes` with the given pod counts (for callers without a kept list). */
export function candidates(
  nodes: readonly Node[],
  podCount: (node: string) => number,
): Candidate[] {
  return nodes.map((n) => {
    const facts = nodeFacts(n);
    return { facts, load: { pods: podCount(facts.name), requested: {} } };
  });
}

/** The node's scheduling taints, with the not-ready taint implied by its Ready condition. */
export function effectiveTaints(node: Node): readonly Taint[] {
  return nodeFacts(node).taints;
}

/** Why the pod cannot go to the node, or undefined when it can. */
export function misfit(pod: Pod, node: Node): string | undefined {
  return misfitFacts(pod, nodeFacts(node), compileNodeAffinity(pod));
}

function misfitFacts(pod: Pod, node: NodeFacts, affinity: AffinityCheck): string | undefined {
  const spec = pod.spec ?? { containers: [] };
  if (spec.nodeName && spec.nodeName !== node.name) return REASON.nodeName;
  const tolerations = spec.tolerations ?? [];
  if (
    node.unschedulable &&
    !tolerates(tolerations, { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" })
  )
    return REASON.unschedulable;
  if (!matchesNodeSelector(pod, node.labels)) return REASON.selector;
  if (!affinity(node.labels, node.name)) return REASON.selector;
  const taints = node.taints;
  const bad = taints.length === 0 ? undefined : taints.find((t) => !tolerates(tolerations, t));
  if (bad) return `node(s) had untolerated taint {${bad.key}: ${bad.value ?? ""}}`;
  return undefined;
}

export type Placement = ({ node: string } | { message: string }) & {
  /** Nodes looked at, fitting or not: the next search starts that far on (kube's nextStartNodeIndex). */
  examined: number;
};

/**
 * How many fitting nodes kube-scheduler looks for before it stops searching
 * (`numFeasibleNodesToFind` with the default adaptive `percentageOfNodesToScore`): every node
 * below 100, else 50 % minus a point per 125 nodes, at least 5 % and at least 100 nodes.
 */
export function feasibleNodesToFind(total: number): number {
  if (total < MIN_FEASIBLE) return total;
  const percentage = Math.max(MIN_PERCENTAGE, 50 - Math.floor(total / 125));
  return Math.max(MIN_FEASIBLE, Math.floor((total * percentage) / 100));
}
const MIN_FEASIBLE = 100;
const MIN_PERCENTAGE = 5;

/**
 * Picks a node as kube-scheduler does, with fewest pods as the score: nodes are examined in a
 * circle from `start` until {@link feasibleNodesToFind} of them fit (so a pod costs at most a
 * few hundred checks, however large the cluster), and the fitting one with the fewest pods wins
 * (ties by name). When none fits, every node was examined and the message says why, as kube's
 * FitError does.
 */
export function place(pod: Pod, nodes: readonly Candidate[], start = 0): Placement {
  if (nodes.length === 0) return { message: "no nodes available to schedule pods", examined: 0 };
  const wanted = feasibleNodesToFind(nodes.length);
  const request = podRequests(pod);
  const affinity = compileNodeAffinity(pod);
  const reasons = new Map<string, number>();
  const count = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
  let full = 0;
  let best: { name: string; pods: number } | undefined;
  let found = 0;
  let examined = 0;
  for (; examined < nodes.length && found < wanted; examined++) {
    const { facts, load } = nodes[(start + examined) % nodes.length] as Candidate;
    const why = misfitFacts(pod, facts, affinity);
    if (why) {
      count(why);
      continue;
    }
    // NodeResourcesFit: the pod count and every resource the pod requests, all reported.
    const lacking =
      request === NO_RESOURCES ? [] : shortfalls(request, facts.allocatable, load.requested);
    if (load.pods >= facts.capacity) lacking.unshift(REASON.tooManyPods);
    if (lacking.length > 0) {
      for (const r of lacking) count(r);
      full++;
      continue;
    }
    found++;
    if (!best || load.pods < best.pods || (load.pods === best.pods && facts.name < best.name))
      best = { name: facts.name, pods: load.pods };
  }
  if (best) return { node: best.name, examined };
  return { message: fitErrorMessage(nodes.length, reasons, full), examined };
}

/**
 * kube's FitError text: reasons sorted, then the preemption verdict. Preemption could only help
 * on nodes that failed for capacity, and finds no victim there (every pod has one priority).
 */
export function fitErrorMessage(
  total: number,
  reasons: ReadonlyMap<string, number>,
  full = reasons.get(REASON.tooManyPods) ?? 0,
): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  const noVictims = full;
  const verdicts = [
    ...(noVictims > 0 ? [`${noVictims} No preemption victims found for incoming pod`] : []),
    ...(total - noVictims > 0
      ? [`${total - noVictims} Preemption is not helpful for scheduling`]
      : []),
  ];
  return (
    `0/${total} nodes are available: ${parts.join(", ")}. ` +
    `preemption: 0/${total} nodes are available: ${verdicts.join(", ")}.`
  );
}
