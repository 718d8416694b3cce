/**
 * The node lifecycle's pure decisions, as kube-controller-manager's node-lifecycle controller
 * makes them:
 *
 * - health: a node whose heartbeat (its Lease's renewTime or its Ready condition's
 *   lastHeartbeatTime) has not moved for the grace period, counted from when the controller saw it
 *   move (so a restarted control plane does not judge nodes by old timestamps), gets its
 *   conditions set to `Unknown` with kube's reason and message;
 * - taints: Ready False → `node.kubernetes.io/not-ready`, Ready Unknown →
 *   `node.kubernetes.io/unreachable`, each NoSchedule and NoExecute (the NoExecute one stamped
 *   with `timeAdded`); pressure conditions and `spec.unschedulable` (`kubectl cordon`) → their
 *   NoSchedule taints; all removed when the condition clears;
 * - disruption: when every node of every zone is unhealthy the controller assumes the problem is
 *   its own connectivity and puts no NoExecute taint (removing those it put), as kube's
 *   FullDisruption handling does; one zone down among healthy ones is tainted as usual.
 *
 * @module
 */

import type { Lease } from "kubernetes-types/coordination/v1.js";
import type { Node, NodeCondition, Taint } from "kubernetes-types/core/v1.js";

/** kube-controller-manager's `--node-monitor-grace-period` default in 1.32. */
export const NODE_MONITOR_GRACE_MS = 50_000;

export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";
export const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

/** The NoSchedule taint of each condition that holds, as TaintNodesByCondition maps them. */
const CONDITION_TAINTS: ReadonlyArray<[type: string, status: string, key: string]> = [
  ["Ready", "False", NOT_READY_TAINT],
  ["Ready", "Unknown", UNREACHABLE_TAINT],
  ["MemoryPressure", "True", "node.kubernetes.io/memory-pressure"],
  ["DiskPressure", "True", "node.kubernetes.io/disk-pressure"],
  ["PIDPressure", "True", "node.kubernetes.io/pid-pressure"],
  ["NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"],
];
const MANAGED = new Set([...CONDITION_TAINTS.map((c) => c[2]), UNSCHEDULABLE_TAINT]);

/** The conditions kube sets to Unknown when the kubelet stops posting. */
const WATCHED = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

export function readyStatus(node: Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

/** The node's latest heartbeat as a string (the Lease's renewTime or Ready's heartbeat). */
export function heartbeat(node: Node, lease: Lease | undefined): string {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  return `${lease?.spec?.renewTime ?? ""}|${ready?.lastHeartbeatTime ?? ""}`;
}

/** What the controller remembers of a node: the heartbeat it saw and when it saw it change. */
export interface Observed {
  heartbeat: string;
  at: number;
}

/** The observation after looking at the node now: `at` moves only when the heartbeat moved. */
export function observe(prev: Observed | undefined, beat: string, now: number): Observed {
  return prev && prev.heartbeat === beat ? prev : { heartbeat: beat, at: now };
}

/**
 * The node's conditions once its heartbeat is overdue (`now` past `seen.at + grace`), or
 * undefined when nothing changes (not overdue, or already Unknown).
 */
export function overdueConditions(
  node: Node,
  seen: Observed,
  now: number,
  stamp: string,
  graceMs = NODE_MONITOR_GRACE_MS,
): NodeCondition[] | undefined {
  if (now < seen.at + graceMs) return undefined;
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready?.status === "Unknown") return undefined;
  const next: NodeCondition[] = conditions.map((c) =>
    WATCHED.includes(c.type) && c.status !== "Unknown"
      ? {
          ...c,
          status: "Unknown",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
          lastTransitionTime: stamp,
        }
      : c,
  );
  if (!ready) {
    next.push({
      type: "Ready",
      status: "Unknown",
      reason: "NodeStatusNeverUpdated",
      message: "Kubelet never posted node status.",
      lastHeartbeatTime: node.metadata?.creationTimestamp ?? stamp,
      lastTransitionTime: stamp,
    });
  }
  return next;
}

/** Whether a node counts as healthy for the zone's disruption state (Ready True). */
export function healthy(node: Node): boolean {
  return readyStatus(node) === "True";
}

/** The zone a node belongs to, for disruption accounting (region and zone labels). */
export function zoneOf(node: Node): string {
  const l = node.metadata?.labels ?? {};
  return `${l["topology.kubernetes.io/region"] ?? ""}:\0:${l["topology.kubernetes.io/zone"] ?? ""}`;
}

export type ZoneState = "Normal" | "PartialDisruption" | "FullDisruption";

/** kube's ComputeZoneState with its 0.55 unhealthy threshold. */
export function zoneState(nodes: readonly Node[]): ZoneState {
  const ready = nodes.filter(healthy).length;
  const notReady = nodes.length - ready;
  if (ready === 0 && notReady > 0) return "FullDisruption";
  if (notReady > 2 && notReady / (notReady + ready) >= 0.55) return "PartialDisruption";
  return "Normal";
}

/**
 * Whether NoExecute taints may be put on the node: not when every zone is fully disrupted, nor in
 * a partially disrupted zone of a small cluster (kube's secondary eviction rate is 0 up to 50
 * nodes).
 */
export function mayEvict(node: Node, all: readonly Node[]): boolean {
  const zones = new Map<string, Node[]>();
  for (const n of all) {
    const z = zoneOf(n);
    const list = zones.get(z) ?? [];
    list.push(n);
    zones.set(z, list);
  }
  const states = [...zones.values()].map(zoneState);
  if (states.length > 0 && states.every((s) => s === "FullDisruption")) return false;
  const mine = zones.get(zoneOf(node)) ?? [node];
  return !(zoneState(mine) === "PartialDisruption" && mine.length <= 50);
}

/**
 * The node's taints as the controller wants them, or undefined when they are right already.
 * Taints the controller does not manage are kept as they are; a managed taint that stays keeps
 * its `timeAdded`.
 */
export function wantedTaints(node: Node, noExecute: boolean, stamp: string): Taint[] | undefined {
  const have = node.spec?.taints ?? [];
  const conditions = node.status?.conditions ?? [];
  const want: Taint[] = [];
  for (const [type, status, key] of CONDITION_TAINTS) {
    if (!conditions.some((c) => c.type === type && c.status === status)) continue;
    want.push({ key, effect: "NoSchedule" });
    if (type === "Ready" && noExecute) want.push({ key, effect: "NoExecute", timeAdded: stamp });
  }
  if (node.spec?.unschedulable === true) {
    want.push({ key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" });
  }
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const managed = (t: Taint) =>
    MANAGED.has(t.key) && (t.effect === "NoSchedule" || t.effect === "NoExecute");
  const next = [
    ...have.filter((t) => !managed(t) || want.some((w) => same(w, t))),
    ...want.filter((w) => !have.some((t) => same(w, t))),
  ];
  const unchanged = next.length === have.length && next.every((t, i) => t === have[i]);
  return unchanged ? undefined : next;
}
