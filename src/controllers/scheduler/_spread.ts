/**
 * Pod topology spread, as kube-scheduler's PodTopologySpread plugin places pods:
 *
 * - a constraint counts, in each domain of its `topologyKey`, the pods of the pod's namespace
 *   its `labelSelector` (plus `matchLabelKeys` with the pod's own values) selects, on nodes that
 *   carry every constraint's key and, by `nodeAffinityPolicy` (default Honor) and
 *   `nodeTaintsPolicy` (default Ignore), match the pod's node affinity and tolerate its taints;
 *   terminating pods are not counted;
 * - Filter (`whenUnsatisfiable: DoNotSchedule`): the node needs the key ("node(s) didn't match
 *   pod topology spread constraints (missing required label)"), and placing the pod there may
 *   not make its domain more than `maxSkew` above the emptiest domain (taken as 0 while there are
 *   fewer domains than `minDomains`): "node(s) didn't match pod topology spread constraints";
 * - Score (`ScheduleAnyway`): fewer matching pods in the node's domains score higher, each
 *   constraint weighted by log(domains + 2), scaled to 0–100 (kube's normalisation); nodes
 *   missing a key score 0;
 * - a pod with no constraints gets kube's system defaults (hostname maxSkew 3, zone maxSkew 5,
 *   both ScheduleAnyway) over the pods of its own controller; kube selects those by the
 *   selectors of the Services, ReplicaSets, StatefulSets and ReplicationControllers over the pod,
 *   loopkube by the controller's ownerReference (the same pods for a workload's own pods).
 *
 * @module
 */
import type { Pod, Taint, TopologySpreadConstraint } from "kubernetes-types/core/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { controllerUid, type PodsView, type ScheduledPod } from "./_pods.ts";

export const SPREAD_REASON = {
  constraints: "node(s) didn't match pod topology spread constraints",
  missingLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
} as const;

export const HOSTNAME_KEY = "kubernetes.io/hostname";
export const ZONE_KEY = "topology.kubernetes.io/zone";

type Labels = Readonly<Record<string, string>>;

/** A node as spreading sees it. */
export interface SpreadNode {
  name: string;
  labels: Labels;
  taints: readonly Taint[];
}

/** What the caller answers about a node for the policies: node affinity, taints. */
export interface SpreadPolicyChecks {
  matchesAffinity(node: SpreadNode): boolean;
  toleratesTaints(node: SpreadNode): boolean;
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  selects(pod: Pod): boolean;
}

interface DomainCounts {
  domains: Set<string>;
  counts: Map<string, number>;
}

export interface Spread {
  /** Why the node is refused by a DoNotSchedule constraint, or undefined. */
  filter(node: SpreadNode): string | undefined;
  /** 0–100 for each of the feasible nodes, or undefined when no constraint scores. */
  score?: (feasible: readonly SpreadNode[]) => number[];
}

function compileConstraint(pod: Pod, c: TopologySpreadConstraint): Constraint {
  let selector = selectorFromLabelSelector(undefined);
  const labels = pod.metadata?.labels ?? {};
  try {
    const extra = (c.matchLabelKeys ?? [])
      .filter((k) => labels[k] !== undefined)
      .map((k) => ({ key: k, operator: "In", values: [labels[k] as string] }));
    if (c.labelSelector)
      selector = selectorFromLabelSelector({
        ...c.labelSelector,
        matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...extra],
      });
  } catch {
    // validation refuses bad selectors; a stored one selects nothing
  }
  const namespace = pod.metadata?.namespace ?? "";
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    hard: c.whenUnsatisfiable === "DoNotSchedule",
    minDomains: c.minDomains ?? 1,
    honorAffinity: (c.nodeAffinityPolicy ?? "Honor") === "Honor",
    honorTaints: c.nodeTaintsPolicy === "Honor",
    selects: (other) =>
      (other.metadata?.namespace ?? "") === namespace &&
      matches(selector, other.metadata?.labels ?? {}),
  };
}

function defaultConstraints(pod: Pod): Constraint[] {
  const uid = controllerUid(pod);
  if (!uid) return [];
  const selects = (other: Pod) => controllerUid(other) === uid;
  const soft = { hard: false, minDomains: 1, honorAffinity: true, honorTaints: false, selects };
  return [
    { ...soft, maxSkew: 3, topologyKey: HOSTNAME_KEY },
    { ...soft, maxSkew: 5, topologyKey: ZONE_KEY },
  ];
}

/** The pod's spread check over `nodes` (all of them), or undefined when it has none. */
export function compileSpread(
  pod: Pod,
  nodes: readonly SpreadNode[],
  options: { pods: PodsView; checks: SpreadPolicyChecks },
): Spread | undefined {
  const own = pod.spec?.topologySpreadConstraints ?? [];
  const systemDefaulted = own.length === 0;
  const constraints = systemDefaulted
    ? defaultConstraints(pod)
    : own.map((c) => compileConstraint(pod, c));
  if (constraints.length === 0) return undefined;
  const { pods, checks } = options;
  const hard = constraints.filter((c) => c.hard);
  const soft = constraints.filter((c) => !c.hard);
  const uid = controllerUid(pod);
  const candidates: Iterable<ScheduledPod> =
    systemDefaulted && uid ? pods.ownedBy(uid) : pods.all();

  const byName = new Map(nodes.map((n) => [n.name, n]));
  /** Each constraint's domains (on eligible nodes) and matching pods per domain. */
  const counts = (group: Constraint[]): DomainCounts[] => {
    const out = group.map(() => new Map<string, number>());
    const eligible = (n: SpreadNode, c: Constraint) =>
      (!c.honorAffinity || checks.matchesAffinity(n)) &&
      (!c.honorTaints || checks.toleratesTaints(n));
    const domains = group.map(() => new Set<string>());
    for (const n of nodes) {
      if (!systemDefaulted && !group.every((c) => n.labels[c.topologyKey] !== undefined)) continue;
      group.forEach((c, i) => {
        const v = n.labels[c.topologyKey];
        if (v !== undefined && eligible(n, c)) domains[i]?.add(v);
      });
    }
    for (const { pod: other, node } of candidates) {
      if (other.metadata?.deletionTimestamp) continue;
      const n = byName.get(node);
      if (!n) continue;
      group.forEach((c, i) => {
        const v = n.labels[c.topologyKey];
        if (v !== undefined && domains[i]?.has(v) && c.selects(other))
          out[i]?.set(v, (out[i]?.get(v) ?? 0) + 1);
      });
    }
    return out.map((m, i) => ({ counts: m, domains: domains[i] ?? new Set<string>() }));
  };

  const hardCounts = hard.length > 0 ? counts(hard) : [];
  const minimum = hardCounts.map((h, i) => {
    if (h.domains.size < (hard[i]?.minDomains ?? 1)) return 0;
    let min = Number.POSITIVE_INFINITY;
    for (const d of h.domains) min = Math.min(min, h.counts.get(d) ?? 0);
    return Number.isFinite(min) ? min : 0;
  });
  const filter = (node: SpreadNode): string | undefined => {
    if (hard.some((c) => node.labels[c.topologyKey] === undefined))
      return SPREAD_REASON.missingLabel;
    for (const [i, c] of hard.entries()) {
      const value = node.labels[c.topologyKey] as string;
      const here = hardCounts[i]?.counts.get(value) ?? 0;
      const self = c.selects(pod) ? 1 : 0;
      if (here + self - (minimum[i] ?? 0) > c.maxSkew) return SPREAD_REASON.constraints;
    }
    return undefined;
  };
  if (soft.length === 0) return { filter };
  const softCounts = counts(soft);
  const score = (feasible: readonly SpreadNode[]): number[] => {
    const ignored = (n: SpreadNode) =>
      !systemDefaulted && soft.some((c) => n.labels[c.topologyKey] === undefined);
    const weights = soft.map((c) => {
      const values = new Set<string>();
      for (const n of feasible) {
        const v = n.labels[c.topologyKey];
        if (v !== undefined && !ignored(n)) values.add(v);
      }
      return Math.log(values.size + 2);
    });
    const raw = feasible.map((n) => {
      if (ignored(n)) return undefined;
      let sum = 0;
      soft.forEach((c, i) => {
        const v = n.labels[c.topologyKey];
        if (v === undefined) return;
        const count = softCounts[i]?.counts.get(v) ?? 0;
        sum += count * (weights[i] ?? 0) + (c.maxSkew - 1);
      });
      return Math.round(sum);
    });
    const kept = raw.filter((s): s is number => s !== undefined);
    const max = Math.max(0, ...kept);
    const min = Math.min(...kept);
    return raw.map((s) => {
      if (s === undefined) return 0;
      if (max === 0) return 100;
      return Math.floor((100 * (max + min - s)) / max);
    });
  };
  return { filter, score };
}
