/**
 * Taint-based eviction, as kube's taint-eviction controller decides it: a pod on a node with
 * NoExecute taints it does not tolerate goes at once; one that tolerates them all stays for the
 * smallest `tolerationSeconds` of the tolerations used (forever when none sets it, at once when
 * one is ≤ 0), counted from when the taints came (their latest `timeAdded`) or the pod did,
 * whichever is later.
 *
 * @module
 */
import type { Pod, Taint, Toleration } from "kubernetes-types/core/v1.js";
import { tolerates } from "../_placement.ts";

/** When the pod is to be evicted (ms), or undefined when never. */
export function evictionTime(pod: Pod, taints: readonly Taint[], now: number): number | undefined {
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length === 0) return undefined;
  const tolerations = pod.spec?.tolerations ?? [];
  const used: Toleration[] = [];
  for (const taint of noExecute) {
    const t = tolerations.find((x) => tolerates([x], taint));
    if (!t) return now;
    used.push(t);
  }
  let min = Number.POSITIVE_INFINITY;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return now;
    min = Math.min(min, t.tolerationSeconds);
  }
  if (min === Number.POSITIVE_INFINITY) return undefined;
  const since = Math.max(
    ...noExecute.map((t) => (t.timeAdded ? Date.parse(t.timeAdded) : now)),
    pod.metadata?.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : 0,
  );
  return since + min * 1000;
}
