/**
 * Which nodes a DaemonSet runs on, as kube's `NodeShouldRunDaemonPod` decides, and how its pods
 * are pinned to them:
 *
 * - the pod (the template, with the tolerations every daemon pod gets) must name no other node,
 *   match the node selector and the required node affinity, and tolerate the node's NoSchedule and
 *   NoExecute taints; a pod already there may stay while it tolerates the NoExecute ones;
 * - every daemon pod tolerates `node.kubernetes.io/not-ready` and `…/unreachable` (NoExecute),
 *   `…/disk-pressure`, `…/memory-pressure`, `…/pid-pressure` and `…/unschedulable` (NoSchedule),
 *   and with `hostNetwork` `…/network-unavailable` (NoSchedule): kube's
 *   AddOrUpdateDaemonPodTolerations, which replaces a toleration equal in key, operator, value and
 *   effect and appends the others;
 * - a pod is pinned by replacing its required node affinity with one `matchFields` term
 *   `metadata.name In [node]`, which the scheduler then honours; the node a pod is for is its
 *   `spec.nodeName`, or else the one that term names.
 *
 * @module
 */
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Affinity, Node, Pod, PodSpec, Taint, Toleration } from "kubernetes-types/core/v1.js";
import { fitsNodeAffinity, untoleratedTaint } from "../_placement.ts";

const toleration = (key: string, effect: "NoExecute" | "NoSchedule"): Toleration => ({
  key,
  operator: "Exists",
  effect,
});

const DAEMON_TOLERATIONS: readonly Toleration[] = [
  toleration("node.kubernetes.io/not-ready", "NoExecute"),
  toleration("node.kubernetes.io/unreachable", "NoExecute"),
  toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
  toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
  toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
  toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const HOST_NETWORK_TOLERATION = toleration("node.kubernetes.io/network-unavailable", "NoSchedule");

const sameToleration = (a: Toleration, b: Toleration) =>
  (a.key ?? "") === (b.key ?? "") &&
  (a.operator ?? "") === (b.operator ?? "") &&
  (a.value ?? "") === (b.value ?? "") &&
  (a.effect ?? "") === (b.effect ?? "");

/** The tolerations of a daemon pod: the spec's, with the daemon ones added or replacing theirs. */
export function daemonTolerations(spec: PodSpec | undefined): Toleration[] {
  let out = [...(spec?.tolerations ?? [])];
  const wanted = spec?.hostNetwork
    ? [...DAEMON_TOLERATIONS, HOST_NETWORK_TOLERATION]
    : DAEMON_TOLERATIONS;
  for (const t of wanted) {
    const i = out.findIndex((have) => sameToleration(have, t));
    if (i < 0) out.push({ ...t });
    else if (out[i]?.tolerationSeconds !== undefined)
      out = out.map((have, j) => (j === i ? { ...t } : have));
  }
  return out;
}

export interface NodeVerdict {
  /** A daemon pod should be created here when there is none. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

const isNoExecute = (t: Taint) => t.effect === "NoExecute";
const isNoScheduleOrExecute = (t: Taint) => t.effect === "NoExecute" || t.effect === "NoSchedule";

/** kube's NodeShouldRunDaemonPod. */
export function shouldRunOnNode(ds: DaemonSet, node: Node): NodeVerdict {
  const name = node.metadata?.name ?? "";
  const templateSpec = ds.spec?.template?.spec;
  if (templateSpec?.nodeName && templateSpec.nodeName !== name)
    return { shouldRun: false, shouldContinueRunning: false };
  const pod: Pod = {
    metadata: { ...(ds.spec?.template?.metadata ?? {}) },
    spec: { ...(templateSpec ?? { containers: [] }), nodeName: name },
  };
  if (!fitsNodeAffinity(pod, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = daemonTolerations(templateSpec);
  if (untoleratedTaint(taints, tolerations, isNoScheduleOrExecute)) {
    return {
      shouldRun: false,
      shouldContinueRunning: !untoleratedTaint(taints, tolerations, isNoExecute),
    };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

const NAME_FIELD = "metadata.name";

/** kube's ReplaceDaemonSetPodNodeNameNodeAffinity: the required terms become `metadata.name In [node]`. */
export function pinnedAffinity(affinity: Affinity | undefined, node: string): Affinity {
  const required = {
    nodeSelectorTerms: [{ matchFields: [{ key: NAME_FIELD, operator: "In", values: [node] }] }],
  };
  const nodeAffinity = affinity?.nodeAffinity;
  return {
    ...(affinity ?? {}),
    nodeAffinity: {
      ...(nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: {
        ...(nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? {}),
        ...required,
      },
    },
  };
}

/** kube's GetTargetNodeName: `spec.nodeName`, else the node a `metadata.name In [x]` term names. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const r of term.matchFields ?? []) {
      if (r.key === NAME_FIELD && r.operator === "In")
        return r.values?.length === 1 ? r.values[0] : undefined;
    }
  }
  return undefined;
}
