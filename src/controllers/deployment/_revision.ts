/**
 * Revisions and the annotations a Deployment puts on its ReplicaSets (kube's
 * deployment_util.go): `deployment.kubernetes.io/revision` (the max of the old sets + 1; a set
 * rolled back to gets the next number and keeps its former ones in `revision-history`), the
 * replica annotations, and the Deployment's own annotations copied over — all but kubectl's
 * last-applied configuration and the controller's own.
 *
 * @module
 */
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { PodTemplateSpec } from "kubernetes-types/core/v1.js";
import { canonicalJson } from "../_hash.ts";
import { DESIRED_REPLICAS, MAX_REPLICAS, maxSurge } from "./_arith.ts";

export const REVISION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
export const HASH_LABEL = "pod-template-hash";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO = "deprecated.deployment.rollback.to";
/** kube-controller-manager's default --deployment-controller-revision-history-limit-in-chars. */
export const REVISION_HISTORY_MAX_CHARS = 2000;

const SKIPPED = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  ROLLBACK_TO,
]);

export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = obj.metadata?.annotations?.[REVISION];
  return v && /^\d+$/.test(v) ? Number.parseInt(v, 10) : 0;
}

export function maxRevision(sets: readonly ReplicaSet[]): number {
  return sets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** Templates equal once the pod-template-hash label is ignored (kube's EqualIgnoreHash). */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined) {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {}) as { metadata?: { labels?: Record<string, string> } };
    if (c.metadata?.labels) {
      delete c.metadata.labels[HASH_LABEL];
      if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
    }
    return canonicalJson(c);
  };
  return strip(a) === strip(b);
}

/**
 * Updates `annotations` (a set's) in place for a Deployment; returns whether anything changed.
 * `exists` false adds the replica annotations of a set about to be created.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  annotations: Record<string, string>,
  newRevision: number,
  options: { exists: boolean; historyMaxChars?: number },
): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (SKIPPED.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const oldRevision = annotations[REVISION];
  let oldInt = 0;
  if (oldRevision !== undefined && oldRevision !== "") {
    if (!/^\d+$/.test(oldRevision)) return changed;
    oldInt = Number.parseInt(oldRevision, 10);
  }
  if (oldInt < newRevision) {
    annotations[REVISION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = annotations[REVISION_HISTORY] ?? "";
      const limit = options.historyMaxChars ?? REVISION_HISTORY_MAX_CHARS;
      if (history === "") annotations[REVISION_HISTORY] = oldRevision;
      else {
        const olds = history.split(",");
        let total = history.length + oldRevision.length + 1;
        let start = 0;
        while (total > limit && start < olds.length) {
          total -= (olds[start]?.length ?? 0) + 1;
          start++;
        }
        if (total <= limit)
          annotations[REVISION_HISTORY] = [...olds.slice(start), oldRevision].join(",");
      }
    }
  }
  if (!options.exists && setReplicasAnnotations(annotations, d)) changed = true;
  return changed;
}

/** Sets desired-replicas and max-replicas for `d`; returns whether they changed. */
export function setReplicasAnnotations(
  annotations: Record<string, string>,
  d: Deployment,
): boolean {
  const desired = String(d.spec?.replicas ?? 1);
  const max = String((d.spec?.replicas ?? 1) + maxSurge(d));
  const changed = annotations[DESIRED_REPLICAS] !== desired || annotations[MAX_REPLICAS] !== max;
  annotations[DESIRED_REPLICAS] = desired;
  annotations[MAX_REPLICAS] = max;
  return changed;
}
