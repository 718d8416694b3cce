/**
 * A DaemonSet's ControllerRevisions and pods as kube's DaemonSet controller labels them
 * (`snapshot`, `CreatePodTemplate`, `IsPodUpdated`):
 *
 * - a revision is named `<ds>-<hash>`, the hash being the template hash (kube's ComputeHash of
 *   the template and the collision count, as the Deployment controller's pod-template-hash), and
 *   carries it as its `controller-revision-hash` label besides the template's labels; its
 *   annotations are the DaemonSet's; its data is the shared template patch;
 * - a daemon pod carries the hash of the revision it was made from (`controller-revision-hash`)
 *   and the DaemonSet's template generation (`pod-template-generation`); a pod is updated when
 *   either matches the DaemonSet's current one.
 *
 * @module
 */
import type { ControllerRevision, DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { templateGeneration } from "../../api/kinds/index.ts";
import { computeHash } from "../_hash.ts";
import { revisionData } from "../_history.ts";
import { ownerRef } from "../_owners.ts";

export const DAEMONSET = { apiVersion: "apps/v1", kind: "DaemonSet" } as const;
export const HASH_LABEL = "controller-revision-hash";
export const GENERATION_LABEL = "pod-template-generation";

export function newDaemonSetRevision(
  ds: DaemonSet,
  revision: number,
  collisionCount: number,
): ControllerRevision {
  // kube hashes the count only when the status has one.
  const count =
    collisionCount === 0 && ds.status?.collisionCount === undefined ? undefined : collisionCount;
  const hash = computeHash(ds.spec?.template, count);
  const metadata: ControllerRevision["metadata"] & object = {
    name: `${ds.metadata?.name ?? ""}-${hash}`,
    labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
    annotations: { ...(ds.metadata?.annotations ?? {}) },
    ownerReferences: [ownerRef(ds, DAEMONSET)],
  };
  if (ds.metadata?.namespace !== undefined) metadata.namespace = ds.metadata.namespace;
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata,
    data: revisionData(ds),
    revision,
  };
}

/** The hash a revision (or a pod) carries. */
export function hashOf(obj: { metadata?: { labels?: Record<string, string> } }): string {
  return obj.metadata?.labels?.[HASH_LABEL] ?? "";
}

/** kube's IsPodUpdated: the pod carries the current hash or the current template generation. */
export function isPodUpdated(pod: Pod, hash: string, ds: DaemonSet): boolean {
  const generation = templateGeneration(ds);
  const labels = pod.metadata?.labels ?? {};
  return (
    (hash !== "" && labels[HASH_LABEL] === hash) ||
    (generation > 0 && labels[GENERATION_LABEL] === String(generation))
  );
}
