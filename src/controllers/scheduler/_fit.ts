/**
 * Where a pod goes, as kube-scheduler's default profile decides it, filters in kube's order and
 * words (`pkg/scheduler/framework/plugins/…`):
 * - NodeUnschedulable: `spec.unschedulable` → "node(s) were unschedulable" unless the pod
 *   tolerates `node.kubernetes.io/unschedulable:NoSchedule`;
 * - NodeName: `spec.nodeName` preset → only that node ("node(s) didn't match the requested node
 *   name");
 * - TaintToleration: NoSchedule/NoExecute taints not tolerated → "node(s) had untolerated taint
 *   {key: value}". A node whose Ready condition is not True counts as tainted
 *   `node.kubernetes.io/not-ready`, the taint kube's node lifecycle controller would put on it;
 * - NodeAffinity: `spec.nodeSelector` and the required node affinity (see ../_placement.ts) →
 *   "node(s) didn't match Pod's node affinity/selector";
 * - NodeResourcesFit: "Too many pods" past `allocatable.pods`, and "Insufficient <resource>"
 *   for each resource the pod requests (see _resources.ts) beyond what the node has left;
 * - PodTopologySpread (see _spread.ts) and InterPodAffinity (see _interpod.ts).
 * The nodes that pass are scored (see _score.ts).
 *
 * Pure functions; the fit error message is built as kube's FitError prints it, with the
 * verdict of preemption (see _preempt.ts) after "preemption:", or the victims to evict.
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
import { compileInterPod, INTERPOD_REASON, type InterPod } from "./_interpod.ts";
import { NO_PODS, type PodsView, type ScheduledPod } from "./_pods.ts";
import { findPreemption, NO_VICTIMS, NOT_HELPFUL } from "./_preempt.ts";
import {
  allocatable,
  NO_RESOURCES,
  podRequests,
  type Resources,
  shortfalls,
} from "./_resources.ts";
import {
  capacityLeft,
  compilePreferredNodeAffinity,
  intolerablePreferNoSchedule,
  normalize,
  normalizeRange,
  WEIGHTS,
} from "./_score.ts";
import { compileSpread, SPREAD_REASON, type Spread } from "./_spread.ts";

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
  /** The NoSchedule and NoExecute taints (filtered on). */
  taints: readonly Taint[];
  /** The PreferNoSchedule taints (scored on). */
  softTaints: readonly Taint[];
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
    softTaints: (node.spec?.taints ?? []).filter((t) => t.effect === "PreferNoSchedule"),
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
  // kube's filter order: NodeUnschedulable, NodeName, TaintToleration, NodeAffinity.
  const spec = pod.spec ?? { containers: [] };
  const tolerations = spec.tolerations ?? [];
  if (
    node.unschedulable &&
    !tolerates(tolerations, { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" })
  )
    return REASON.unschedulable;
  if (spec.nodeName && spec.nodeName !== node.name) return REASON.nodeName;
  const taints = node.taints;
  const bad = taints.length === 0 ? undefined : taints.find((t) => !tolerates(tolerations, t));
  if (bad) return `node(s) had untolerated taint {${bad.key}: ${bad.value ?? ""}}`;
  if (!matchesNodeSelector(pod, node.labels)) return REASON.selector;
  if (!affinity(node.labels, node.name)) return REASON.selector;
  return undefined;
}

export type Placement = (
  | { node: string }
  | { message: string; preempt?: { node: string; victims: ScheduledPod[] } }
) & {
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

/** Failures that removing lower-priority pods could cure (kube's `Unschedulable`, not `…AndUnresolvable`). */
const RESOLVABLE = new Set<string>([
  REASON.tooManyPods,
  INTERPOD_REASON.antiAffinity,
  INTERPOD_REASON.existingAntiAffinity,
  SPREAD_REASON.constraints,
]);
const resolvable = (why: string) => RESOLVABLE.has(why) || why.startsWith("Insufficient ");

export interface PlaceOptions {
  /** Where the circular search starts (kube's nextStartNodeIndex). */
  start?: number;
  /** The pods on nodes, for inter-pod affinity and topology spread (none by default). */
  pods?: PodsView;
}

/**
 * Picks a node as kube-scheduler does: nodes are examined in a circle from `start` until
 * {@link feasibleNodesToFind} of them pass every filter (so a pod costs at most a few hundred
 * checks, however large the cluster), the fitting ones are scored (see _score.ts) and the best
 * wins. When none fits, every node was examined and the message says why, as kube's FitError
 * does.
 */
export function place(
  pod: Pod,
  nodes: readonly Candidate[],
  options: PlaceOptions = {},
): Placement {
  if (nodes.length === 0) return { message: "no nodes available to schedule pods", examined: 0 };
  const { start = 0, pods = NO_PODS } = options;
  const wanted = feasibleNodesToFind(nodes.length);
  const filters = compileFilters(pod, nodes, pods);
  const reasons = new Map<string, number>();
  const resolvableNodes = new Set<string>();
  const count = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const feasible: Candidate[] = [];
  let examined = 0;
  for (; examined < nodes.length && feasible.length < wanted; examined++) {
    const candidate = nodes[(start + examined) % nodes.length] as Candidate;
    const why = filters.check(candidate);
    if (why.length === 0) feasible.push(candidate);
    else {
      for (const r of why) count(r);
      if (why.every(resolvable)) resolvableNodes.add(candidate.facts.name);
    }
  }
  if (feasible.length > 0) return { node: best(pod, feasible, filters), examined };
  const outcome = findPreemption(pod, nodes, {
    pods,
    resolvable: resolvableNodes,
    fits: (node, view) => compileFilters(pod, nodes, view).check(node),
  });
  const failed = fitError(nodes.length, reasons);
  if ("victims" in outcome)
    return { message: failed, examined, preempt: { node: outcome.node, victims: outcome.victims } };
  const verdict =
    "ineligible" in outcome ? outcome.ineligible : `${fitError(nodes.length, outcome.verdicts)}`;
  return { message: `${failed} preemption: ${verdict}`, examined };
}

interface Filters {
  interPod: InterPod | undefined;
  spread: Spread | undefined;
  /** Why the pod does not fit the node (every resource it lacks), empty when it fits. */
  check(candidate: Candidate): string[];
}

/** The pod's filters, compiled once for a search over `nodes` with these pods on them. */
function compileFilters(pod: Pod, nodes: readonly Candidate[], pods: PodsView): Filters {
  const request = podRequests(pod);
  const affinity = compileNodeAffinity(pod);
  const tolerations = pod.spec?.tolerations ?? [];
  let labelsByName: Map<string, Readonly<Record<string, string>>> | undefined;
  const nodeLabels = (name: string) => {
    labelsByName ??= new Map(nodes.map((n) => [n.facts.name, n.facts.labels]));
    return labelsByName.get(name);
  };
  const interPod = compileInterPod(pod, pods, nodeLabels);
  const spread = compileSpread(
    pod,
    nodes.map((n) => n.facts),
    {
      pods,
      checks: {
        matchesAffinity: (n) => matchesNodeSelector(pod, n.labels) && affinity(n.labels, n.name),
        toleratesTaints: (n) => !n.taints.some((t) => !tolerates(tolerations, t)),
      },
    },
  );
  const check = ({ facts, load }: Candidate): string[] => {
    const why = misfitFacts(pod, facts, affinity);
    if (why) return [why];
    // NodeResourcesFit: the pod count and every resource the pod requests, all reported.
    const lacking =
      request === NO_RESOURCES ? [] : shortfalls(request, facts.allocatable, load.requested);
    if (load.pods >= facts.capacity) lacking.unshift(REASON.tooManyPods);
    if (lacking.length > 0) return lacking;
    const other = spread?.filter(facts) ?? interPod?.filter(facts.labels);
    return other ? [other] : [];
  };
  return { interPod, spread, check };
}

/** The feasible node with the highest weighted score (ties: fewer pods, then name). */
function best(
  pod: Pod,
  feasible: readonly Candidate[],
  plugins: { interPod: InterPod | undefined; spread: Spread | undefined },
): string {
  const first = feasible[0] as Candidate;
  if (feasible.length === 1) return first.facts.name;
  const totals = feasible.map(
    (c) => WEIGHTS.resources * capacityLeft(c.load.pods, c.facts.capacity),
  );
  const add = (weight: number, scores: readonly number[]) =>
    scores.forEach((s, i) => {
      totals[i] = (totals[i] ?? 0) + weight * s;
    });
  const tolerations = pod.spec?.tolerations ?? [];
  if (feasible.some((c) => c.facts.softTaints.length > 0))
    add(
      WEIGHTS.taints,
      normalize(
        feasible.map((c) => intolerablePreferNoSchedule(c.facts.softTaints, tolerations)),
        true,
      ),
    );
  const preferred = compilePreferredNodeAffinity(pod);
  if (preferred)
    add(
      WEIGHTS.nodeAffinity,
      normalize(feasible.map((c) => preferred(c.facts.labels, c.facts.name))),
    );
  const { interPod, spread } = plugins;
  if (spread?.score) add(WEIGHTS.spread, spread.score(feasible.map((c) => c.facts)));
  const interPodScore = interPod?.score;
  if (interPodScore)
    add(WEIGHTS.interPod, normalizeRange(feasible.map((c) => interPodScore(c.facts.labels))));
  let winner = 0;
  for (let i = 1; i < feasible.length; i++) {
    const a = feasible[i] as Candidate;
    const b = feasible[winner] as Candidate;
    const diff = (totals[i] ?? 0) - (totals[winner] ?? 0);
    if (
      diff > 0 ||
      (diff === 0 &&
        (a.load.pods < b.load.pods || (a.load.pods === b.load.pods && a.facts.name < b.facts.name)))
    )
      winner = i;
  }
  return (feasible[winner] as Candidate).facts.name;
}

/** kube's FitError text: "0/N nodes are available: " and the reasons sorted as strings (count first). */
export function fitError(total: number, reasons: ReadonlyMap<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(", ")}.`;
}

/**
 * The FitError with the preemption verdict when no pod can be preempted: `noVictims` nodes
 * failed for what removing pods could cure, the others are beyond preemption's help.
 */
export function fitErrorMessage(
  total: number,
  reasons: ReadonlyMap<string, number>,
  noVictims = reasons.get(REASON.tooManyPods) ?? 0,
): string {
  const verdicts = new Map<string, number>();
  if (noVictims > 0) verdicts.set(NO_VICTIMS, noVictims);
  if (total - noVictims > 0) verdicts.set(NOT_HELPFUL, total - noVictims);
  return `${fitError(total, reasons)} preemption: ${fitError(total, verdicts)}`;
}
