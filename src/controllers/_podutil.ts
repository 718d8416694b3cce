/**
 * Pod facts the workload controllers share with kube's `podutil`: active (counted toward a set),
 * ready, available after minReadySeconds. Pure functions of the pod and a
 * time; timestamps are RFC 3339 strings as the API serves them.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";

/** A pod counts toward its set unless it has finished or is being deleted. */
export function isActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata?.deletionTimestamp;
}

function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

export function isReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === "True";
}

/** When the pod last turned Ready, or undefined when it is not ready or the time is unknown. */
export function readySince(pod: Pod): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== "True" || !c.lastTransitionTime) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Ready, and ready for longer than `minReadySeconds` (kube's IsPodAvailable: strictly before
 * `now`). With `minReadySeconds` 0 a ready pod is available at once.
 */
export function isAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 < now;
}

/** Milliseconds until a ready pod turns available, or undefined when it is not ready or already is. */
export function untilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isReady(pod) || minReadySeconds <= 0) return undefined;
  const since = readySince(pod);
  if (since === undefined) return undefined;
  const at = since + minReadySeconds * 1000;
  return at < now ? undefined : at - now + 1000;
}
