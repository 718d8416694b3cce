/**
 * Pod facts the DaemonSet controller reads: the order it keeps pods of one node in (scheduled
 * first, then oldest, then by name: kube's podByCreationTimestampAndPhase), the grouping of its
 * pods by the node each is for, the pod it creates for a node, and how many pods a percentage
 * of nodes is (kube's GetScaledValueFromIntOrPercent, rounding up).
 *
 * @module
 */
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { templateGeneration } from "../../api/kinds/index.ts";
import { ownerRef } from "../_owners.ts";
import { daemonTolerations, pinnedAffinity, targetNodeName } from "./_nodes.ts";
import { DAEMONSET, GENERATION_LABEL, HASH_LABEL } from "./_revision.ts";

export function byCreationAndPhase(a: Pod, b: Pod): number {
  const sa = Boolean(a.spec?.nodeName);
  const sb = Boolean(b.spec?.nodeName);
  if (sa !== sb) return sa ? -1 : 1;
  const ta = Date.parse(a.metadata?.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? "") || 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? "";
  const nb = b.metadata?.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export const isTerminal = (pod: Pod) =>
  pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/**
 * The DaemonSet's pods by the node each is for (kube's getNodesToDaemonPods); pods for no node
 * are left out, and so are finished pods being deleted, which need nothing more.
 */
export function podsByNode(pods: readonly Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const pod of pods) {
    if (isTerminal(pod) && pod.metadata?.deletionTimestamp) continue;
    const node = targetNodeName(pod);
    if (node === undefined) continue;
    const list = out.get(node);
    if (list) list.push(pod);
    else out.set(node, [pod]);
  }
  return out;
}

/**
 * The pod the DaemonSet creates for `node` (kube's CreatePodTemplate and GetPodFromTemplate): the
 * template with the daemon tolerations, the revision hash and template generation labels, the
 * required node affinity pinned to the node, `generateName: <ds>-`, owned by the DaemonSet.
 */
export function podForNode(ds: DaemonSet, hash: string, node: string): Pod {
  const template = ds.spec?.template;
  const meta = template?.metadata ?? {};
  const spec = structuredClone(template?.spec ?? { containers: [] });
  spec.tolerations = daemonTolerations(spec);
  spec.affinity = pinnedAffinity(spec.affinity, node);
  const labels: Record<string, string> = { ...(meta.labels ?? {}) };
  const generation = templateGeneration(ds);
  if (generation > 0) labels[GENERATION_LABEL] = String(generation);
  if (hash !== "") labels[HASH_LABEL] = hash;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${ds.metadata?.name ?? ""}-`,
      namespace: ds.metadata?.namespace ?? "",
      labels,
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ownerRef(ds, DAEMONSET)],
    },
    spec,
  };
}

/** kube's GetScaledValueFromIntOrPercent with rounding up; an invalid value counts as 0. */
export function scaledValue(value: number | string | undefined, total: number): number {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return 0;
  const m = /^([0-9]+)%$/.exec(value);
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(value);
  return Number.isInteger(n) ? n : 0;
}

/** kube's SurgeCount and UnavailableCount for `desired` nodes (0 unless RollingUpdate). */
export function rollingBudget(
  ds: DaemonSet,
  desired: number,
): { surge: number; unavailable: number } {
  const strategy = ds.spec?.updateStrategy;
  if ((strategy?.type ?? "RollingUpdate") !== "RollingUpdate" || !strategy?.rollingUpdate)
    return { surge: 0, unavailable: 0 };
  return {
    surge: scaledValue(strategy.rollingUpdate.maxSurge, desired),
    unavailable: scaledValue(strategy.rollingUpdate.maxUnavailable, desired),
  };
}

/** kube's AllowsSurge: more than one pod on a node during an update. */
export function allowsSurge(ds: DaemonSet): boolean {
  return rollingBudget(ds, 1).surge > 0;
}
