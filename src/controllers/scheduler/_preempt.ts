/**
 * Preemption, as kube-scheduler's DefaultPreemption plugin chooses it when a pod fits no node:
 *
 * - a pod with `preemptionPolicy: Never` does not preempt ("not eligible due to
 *   preemptionPolicy=Never."), nor one whose nominated node still has a lower-priority pod
 *   terminating ("not eligible due to a terminating pod on the nominated node.");
 * - only nodes that failed for what removing pods can cure are tried (capacity, anti-affinity,
 *   spread); the others answer "Preemption is not helpful for scheduling";
 * - on such a node every pod of lower priority is taken away; with none the node answers "No
 *   preemption victims found for incoming pod", and when the pod still does not fit, the
 *   filter's own reason. Then the pods are given back one by one, the most important first
 *   (higher priority), each kept where the pod still fits without it: the rest are the victims;
 * - of the nodes with victims kube picks the one whose most important victim has the lowest
 *   priority, then the lowest sum of priorities, then the fewest victims (PodDisruptionBudgets
 *   are not weighed here).
 *
 * Pure: `fits` (the caller's filters over a node, its load and the pods) is passed in.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { Candidate, NodeLoad } from "./_fit.ts";
import type { PodsView, ScheduledPod } from "./_pods.ts";
import { podRequests } from "./_resources.ts";

export const NOT_HELPFUL = "Preemption is not helpful for scheduling";
export const NO_VICTIMS = "No preemption victims found for incoming pod";

export const priorityOf = (pod: Pod) => pod.spec?.priority ?? 0;

/** Why the pod does not fit the node with this load and these pods (empty: it fits). */
export type Fits = (node: Candidate, pods: PodsView) => string[];

export type PreemptionOutcome =
  | { node: string; victims: ScheduledPod[] }
  | { ineligible: string }
  | { verdicts: Map<string, number> };

function without(view: PodsView, gone: ReadonlySet<ScheduledPod>): PodsView {
  const keep = function* (it: Iterable<ScheduledPod>) {
    for (const p of it) if (!gone.has(p)) yield p;
  };
  return {
    all: () => keep(view.all()),
    withAffinity: () => keep(view.withAffinity()),
    ownedBy: (uid) => keep(view.ownedBy(uid)),
    namespaceLabels: (ns) => view.namespaceLabels(ns),
  };
}

function lighter(load: NodeLoad, gone: Iterable<ScheduledPod>): NodeLoad {
  const requested = { ...load.requested };
  let pods = load.pods;
  for (const { pod } of gone) {
    pods--;
    for (const [k, v] of Object.entries(podRequests(pod))) requested[k] = (requested[k] ?? 0) - v;
  }
  return { pods, requested };
}

/**
 * Where the pod could go by preempting lower-priority pods, and which; or why not, per node.
 * `resolvable` names the nodes whose failure removing pods could cure.
 */
export function findPreemption(
  pod: Pod,
  nodes: readonly Candidate[],
  options: { pods: PodsView; resolvable: ReadonlySet<string>; fits: Fits },
): PreemptionOutcome {
  if (pod.spec?.preemptionPolicy === "Never")
    return { ineligible: "not eligible due to preemptionPolicy=Never." };
  const priority = priorityOf(pod);
  const byNode = new Map<string, ScheduledPod[]>();
  for (const p of options.pods.all()) {
    const list = byNode.get(p.node);
    if (list) list.push(p);
    else byNode.set(p.node, [p]);
  }
  const nominated = pod.status?.nominatedNodeName;
  if (
    nominated &&
    (byNode.get(nominated) ?? []).some(
      (p) => p.pod.metadata?.deletionTimestamp && priorityOf(p.pod) < priority,
    )
  )
    return { ineligible: "not eligible due to a terminating pod on the nominated node." };

  const verdicts = new Map<string, number>();
  const count = (why: string) => verdicts.set(why, (verdicts.get(why) ?? 0) + 1);
  let best: { node: string; victims: ScheduledPod[]; key: number[] } | undefined;
  for (const node of nodes) {
    const name = node.facts.name;
    if (!options.resolvable.has(name)) {
      count(NOT_HELPFUL);
      continue;
    }
    const lower = (byNode.get(name) ?? [])
      .filter((p) => !p.pod.metadata?.deletionTimestamp && priorityOf(p.pod) < priority)
      .sort((a, b) => priorityOf(b.pod) - priorityOf(a.pod));
    if (lower.length === 0) {
      count(NO_VICTIMS);
      continue;
    }
    const gone = new Set(lower);
    const check = () =>
      options.fits(
        { facts: node.facts, load: lighter(node.load, gone) },
        without(options.pods, gone),
      );
    const still = check();
    if (still.length > 0) {
      for (const why of still) count(why);
      continue;
    }
    for (const p of lower) {
      gone.delete(p);
      if (check().length > 0) gone.add(p);
    }
    const victims = lower.filter((p) => gone.has(p));
    if (victims.length === 0) {
      count(NO_VICTIMS);
      continue;
    }
    const key = [
      Math.max(...victims.map((v) => priorityOf(v.pod))),
      victims.reduce((sum, v) => sum + priorityOf(v.pod), 0),
      victims.length,
    ];
    if (!best || isLess(key, best.key)) best = { node: name, victims, key };
  }
  if (best) return { node: best.node, victims: best.victims };
  return { verdicts };
}

function isLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}
