/**
 * Which pods a ReplicaSet deletes first when it scales down: kube's `ActivePodsWithRanks` order
 * (controller_utils.go), smallest first:
 *
 * 1. not yet on a node < on a node;
 * 2. Pending < Unknown < Running;
 * 3. not ready < ready;
 * 4. lower `controller.kubernetes.io/pod-deletion-cost` < higher (absent or invalid = 0);
 * 5. more pods of the same owner on the pod's node < fewer (the rank);
 * 6. both ready: ready for a shorter time < longer, compared on a log2 scale of the time since
 *    (kube's LogarithmicScaleDown, on by default), ties on that scale broken by UID;
 * 7. more container restarts < fewer;
 * 8. newer creation < older (same log2 scale and UID tie-break).
 *
 * A missing time sorts first, as kube's `afterOrZero` does.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { isReady, readySince } from "../_podutil.ts";

export const DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

export interface RankedPod {
  pod: Pod;
  /** Pods of the same owner on this pod's node (kube counts the related pods, itself included). */
  rank: number;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v.trim())) return 0;
  const n = Number.parseInt(v, 10);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

function maxRestarts(pod: Pod): number {
  const all = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  return all.reduce((m, c) => Math.max(m, c.restartCount ?? 0), 0);
}

function created(pod: Pod): number | undefined {
  const t = pod.metadata?.creationTimestamp;
  if (!t) return undefined;
  const n = Date.parse(t);
  return Number.isNaN(n) ? undefined : n;
}

/** floor(log2(now - t in ns)), -1 when t is not in the past: kube's logarithmic bucket. */
function bucket(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/** Negative when `a` goes first. Times: the more recent (or missing) one goes first. */
function compareTimes(
  a: number | undefined,
  b: number | undefined,
  uids: [string, string],
  now: number | undefined,
): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (now === undefined) return b - a;
  const diff = bucket(a, now) - bucket(b, now);
  if (diff !== 0) return diff;
  return uids[0] < uids[1] ? -1 : uids[0] > uids[1] ? 1 : 0;
}

/** Negative when `a` is deleted before `b`. `now` (ms) enables the logarithmic comparison. */
export function compareForDeletion(a: RankedPod, b: RankedPod, now?: number): number {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? "";
  const nb = pb.spec?.nodeName ?? "";
  if (na !== nb && (na === "" || nb === "")) return na === "" ? -1 : 1;
  const pha = PHASE_ORDER[pa.status?.phase ?? ""] ?? 0;
  const phb = PHASE_ORDER[pb.status?.phase ?? ""] ?? 0;
  if (pha !== phb) return pha - phb;
  const ra = isReady(pa);
  const rb = isReady(pb);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca - cb;
  if (a.rank !== b.rank) return b.rank - a.rank;
  const uids: [string, string] = [pa.metadata?.uid ?? "", pb.metadata?.uid ?? ""];
  if (ra && rb) {
    const c = compareTimes(readySince(pa), readySince(pb), uids, now);
    if (c !== 0) return c;
  }
  const xa = maxRestarts(pa);
  const xb = maxRestarts(pb);
  if (xa !== xb) return xb - xa;
  return compareTimes(created(pa), created(pb), uids, now);
}

/**
 * The `count` pods to delete first. `related` are the active pods of every set with the same
 * owner (the set's own pods when it has none), which decide how crowded each node is.
 */
export function podsToDelete(
  pods: readonly Pod[],
  count: number,
  options: { related?: readonly Pod[]; now?: number } = {},
): Pod[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of options.related ?? pods) {
    const n = p.spec?.nodeName ?? "";
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
  ranked.sort((a, b) => compareForDeletion(a, b, options.now));
  return ranked.slice(0, count).map((r) => r.pod);
}
