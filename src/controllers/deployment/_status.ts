/**
 * A Deployment's status and conditions (kube's calculateStatus, syncRolloutStatus and
 * progress.go): counts summed over its sets; Available True once `replicas - maxUnavailable`
 * pods are available; Progressing True while the rollout moves (NewReplicaSetCreated,
 * FoundNewReplicaSet, ReplicaSetUpdated), True/NewReplicaSetAvailable when complete, and
 * False/ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds. While paused
 * only the counts change (Progressing reads DeploymentPaused/DeploymentResumed).
 *
 * @module
 */
import type {
  Deployment,
  DeploymentCondition,
  DeploymentStatus,
  ReplicaSet,
} from "kubernetes-types/apps/v1.js";
import { maxUnavailable, sumSpec, sumStatus } from "./_arith.ts";

export const REASONS = {
  newRSCreated: "NewReplicaSetCreated",
  foundNewRS: "FoundNewReplicaSet",
  rsUpdated: "ReplicaSetUpdated",
  newRSAvailable: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
  available: "MinimumReplicasAvailable",
  unavailable: "MinimumReplicasUnavailable",
} as const;

export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function newCondition(
  type: string,
  status: "True" | "False" | "Unknown",
  reason: string,
  message: string,
  now: number,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: DeploymentStatus | undefined, type: string) {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * kube's SetDeploymentCondition: no change when status and reason are the same; the transition
 * time is kept when only the reason changes.
 */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current && current.status === cond.status && current.lastTransitionTime)
    next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

export const hasProgressDeadline = (d: Deployment) =>
  d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;

export function calculateStatus(
  d: Deployment,
  allSets: readonly ReplicaSet[],
  newSet: ReplicaSet | undefined,
  now: number,
): DeploymentStatus {
  const available = sumStatus(allSets, "availableReplicas");
  const unavailable = Math.max(0, sumSpec(allSets) - available);
  const status: DeploymentStatus = {
    ...(d.metadata?.generation !== undefined ? { observedGeneration: d.metadata.generation } : {}),
    replicas: sumStatus(allSets, "replicas"),
    updatedReplicas: sumStatus(newSet ? [newSet] : [], "replicas"),
    readyReplicas: sumStatus(allSets, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: unavailable,
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
  };
  const conditions = (d.status?.conditions ?? []).map((c) => ({ ...c }));
  if (conditions.length) status.conditions = conditions;
  if (available >= (d.spec?.replicas ?? 1) - maxUnavailable(d))
    setCondition(
      status,
      newCondition(
        "Available",
        "True",
        REASONS.available,
        "Deployment has minimum availability.",
        now,
      ),
    );
  else
    setCondition(
      status,
      newCondition(
        "Available",
        "False",
        REASONS.unavailable,
        "Deployment does not have minimum availability.",
        now,
      ),
    );
  return status;
}

export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = d.spec?.replicas ?? 1;
  return (
    s.updatedReplicas === want &&
    s.replicas === want &&
    s.availableReplicas === want &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  );
}

/** Some progress since the last status: more updated, fewer old, more ready or available. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

function progressingSince(s: DeploymentStatus): number | undefined {
  const c = getCondition(s, "Progressing");
  if (!c || c.reason === REASONS.newRSAvailable || c.reason === REASONS.timedOut) return undefined;
  const t = Date.parse(c.lastUpdateTime ?? "");
  return Number.isNaN(t) ? undefined : t;
}

export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, "Progressing");
  if (!c || c.reason === REASONS.newRSAvailable) return false;
  if (c.reason === REASONS.timedOut) return true;
  const from = progressingSince(s);
  return from !== undefined && from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 < now;
}

/** kube's syncRolloutStatus conditions, applied to `status` (from calculateStatus). */
export function rolloutConditions(
  d: Deployment,
  status: DeploymentStatus,
  newSet: ReplicaSet | undefined,
  now: number,
): void {
  if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
  const current = getCondition(d.status, "Progressing");
  const complete =
    status.replicas === status.updatedReplicas && current?.reason === REASONS.newRSAvailable;
  if (!hasProgressDeadline(d) || complete) return;
  const name = newSet?.metadata?.name;
  if (deploymentComplete(d, status)) {
    const msg = name
      ? `ReplicaSet "${name}" has successfully progressed.`
      : `Deployment "${d.metadata?.name}" has successfully progressed.`;
    setCondition(status, newCondition("Progressing", "True", REASONS.newRSAvailable, msg, now));
  } else if (deploymentProgressing(d, status)) {
    const msg = name
      ? `ReplicaSet "${name}" is progressing.`
      : `Deployment "${d.metadata?.name}" is progressing.`;
    const cond = newCondition("Progressing", "True", REASONS.rsUpdated, msg, now);
    // Progress moves lastUpdateTime even when the reason is unchanged; the transition time stays.
    if (current?.status === "True" && current.lastTransitionTime)
      cond.lastTransitionTime = current.lastTransitionTime;
    removeCondition(status, "Progressing");
    setCondition(status, cond);
  } else if (deploymentTimedOut(d, status, now)) {
    const msg = name
      ? `ReplicaSet "${name}" has timed out progressing.`
      : `Deployment "${d.metadata?.name}" has timed out progressing.`;
    setCondition(status, newCondition("Progressing", "False", REASONS.timedOut, msg, now));
  }
}

/** Milliseconds until the progress deadline of a rollout in progress, for a requeue. */
export function untilDeadline(d: Deployment, s: DeploymentStatus, now: number): number | undefined {
  if (!hasProgressDeadline(d) || d.spec?.paused) return undefined;
  const from = progressingSince(s);
  if (from === undefined) return undefined;
  const at = from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
  return Math.max(at - now + 1000, 1000);
}
