/**
 * One pass of kube's StatefulSet update algorithm (`stateful_set_control.go`), as a pure plan:
 * given the set, its current and update revisions, its pods and claims, the actions to take in
 * order and the status to write.
 *
 * - Pods are split into replicas (ordinals in `[start, start+replicas)`) and condemned (the
 *   others, highest first).
 * - Each replica in ascending order: a Failed/Succeeded pod is deleted (it comes back next pass);
 *   a missing pod is created (claims first) from the current revision below the partition, the
 *   update revision otherwise; with OrderedReady (monotonic) the pass stops after a create, or at
 *   a pod that is terminating, not Running and Ready, or not yet available. Parallel goes on.
 * - Condemned pods are deleted highest first; OrderedReady deletes one and waits, and only when
 *   every pod is healthy (or the condemned one is the first unhealthy pod).
 * - RollingUpdate: the highest ordinal ≥ partition not on the update revision is deleted (it is
 *   recreated on the update revision next pass); the pass stops at an unhealthy pod first.
 *   maxUnavailable is 1, as with kube's MaxUnavailableStatefulSet gate off. OnDelete updates
 *   nothing; pods the user deletes come back on the update revision.
 *
 * Only the actions a pass would take before it has to wait are returned; the caller runs them in
 * order and stops at the first failure.
 *
 * @module
 */
import type { StatefulSet, StatefulSetStatus } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import {
  identityMatches,
  isFailedOrSucceeded,
  isHealthy,
  isMemberOf,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  msUntilAvailable,
  newPod,
  ordinalOf,
  podClaims,
  podRevision,
  startOrdinal,
  storageMatches,
} from "./_identity.ts";
import { claimIsStale, claimOwnersUpdate } from "./_retention.ts";

export type Action =
  | { type: "createPod"; pod: Pod; claims: PersistentVolumeClaim[] }
  | { type: "createClaims"; pod: Pod; claims: PersistentVolumeClaim[] }
  | { type: "deletePod"; pod: Pod; why: "failed" | "scale-down" | "update" }
  | { type: "updatePod"; pod: Pod }
  | { type: "setClaimOwners"; claim: PersistentVolumeClaim; ownerReferences: OwnerReference[] };

export interface PlanInput {
  set: StatefulSet;
  /** The set with the current revision's template applied. */
  currentSet: StatefulSet;
  /** The set with the update revision's template applied. */
  updateSet: StatefulSet;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
  /** The set's pods (controller-owned); others are ignored. */
  pods: readonly Pod[];
  getClaim(name: string): PersistentVolumeClaim | undefined;
  now: Date;
}

export interface Plan {
  actions: Action[];
  status: StatefulSetStatus;
  /** When a pod's minReadySeconds will have passed and the set must be looked at again. */
  requeueAfterMs?: number;
}

interface Slot {
  pod: Pod;
  created: boolean;
}

function claimsOf(set: StatefulSet, pod: Pod): PersistentVolumeClaim[] {
  return [...podClaims(set, ordinalOf(pod)).values()];
}

/** New claims carry the owner references the retention policy wants from the start. */
function newClaimsOf(set: StatefulSet, pod: Pod): PersistentVolumeClaim[] {
  return claimsOf(set, pod).map((c) => {
    const owners = claimOwnersUpdate(set, pod, c);
    return owners && owners.length > 0
      ? { ...c, metadata: { ...c.metadata, ownerReferences: owners } }
      : c;
  });
}

/** kube's newVersionedStatefulSetPod: below the partition from the current revision. */
function versionedPod(input: PlanInput, ordinal: number): Pod {
  const { currentSet, updateSet } = input;
  const strategy = currentSet.spec?.updateStrategy;
  const start = startOrdinal(currentSet);
  if (strategy?.type === "RollingUpdate" || strategy?.type === undefined) {
    const partition = strategy?.rollingUpdate?.partition;
    const bound =
      strategy?.rollingUpdate === undefined
        ? start + (currentSet.status?.currentReplicas ?? 0)
        : start + (partition ?? 0);
    if (ordinal < bound) return newPod(currentSet, ordinal, input.currentRevision);
  }
  return newPod(updateSet, ordinal, input.updateRevision);
}

function computeStatus(input: PlanInput, slots: readonly Slot[], minReady: number) {
  const status: StatefulSetStatus & { replicas: number } = {
    observedGeneration: input.set.metadata?.generation ?? 0,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: input.currentRevision,
    updateRevision: input.updateRevision,
    collisionCount: input.collisionCount,
  };
  let requeue: number | undefined;
  for (const { pod, created } of slots) {
    if (!created) continue;
    status.replicas++;
    if (isRunningAndReady(pod)) {
      status.readyReplicas = (status.readyReplicas ?? 0) + 1;
      const wait = msUntilAvailable(pod, minReady, input.now);
      if (wait === 0) status.availableReplicas = (status.availableReplicas ?? 0) + 1;
      else requeue = Math.min(requeue ?? wait, wait);
    }
    if (!isTerminating(pod)) {
      const rev = podRevision(pod);
      if (rev === input.currentRevision) status.currentReplicas = (status.currentReplicas ?? 0) + 1;
      if (rev === input.updateRevision) status.updatedReplicas = (status.updatedReplicas ?? 0) + 1;
    }
  }
  return { status, requeue };
}

/** kube's completeRollingUpdate: once every pod is updated and ready, current := update. */
function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): StatefulSetStatus {
  const rolling = (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  if (
    rolling &&
    status.updatedReplicas === status.replicas &&
    status.readyReplicas === status.replicas
  ) {
    return {
      ...status,
      currentReplicas: status.updatedReplicas ?? 0,
      currentRevision: status.updateRevision ?? "",
    };
  }
  return status;
}

export function planStatefulSet(input: PlanInput): Plan {
  const { set, updateSet } = input;
  const monotonic = set.spec?.podManagementPolicy !== "Parallel";
  const minReady = set.spec?.minReadySeconds ?? 0;
  const start = startOrdinal(set);
  const count = set.spec?.replicas ?? 1;

  const replicas: Array<Slot | undefined> = new Array(count).fill(undefined);
  const condemned: Slot[] = [];
  for (const pod of input.pods) {
    if (!isMemberOf(set, pod)) continue;
    const o = ordinalOf(pod);
    if (o >= start && o < start + count) replicas[o - start] = { pod, created: true };
    else condemned.push({ pod, created: true });
  }
  condemned.sort((a, b) => ordinalOf(b.pod) - ordinalOf(a.pod));
  const slots: Slot[] = replicas.map(
    (s, i) => s ?? { pod: versionedPod(input, start + i), created: false },
  );

  const actions: Action[] = [];
  const counted = computeStatus(input, [...slots, ...condemned], minReady);
  let status: StatefulSetStatus = counted.status;
  const done = (): Plan => {
    const plan: Plan = { actions, status: completeRollingUpdate(set, status) };
    if (minReady > 0 && counted.requeue !== undefined) plan.requeueAfterMs = counted.requeue;
    return plan;
  };

  // The first unhealthy pod: lowest replica, else lowest condemned.
  const firstUnhealthy =
    slots.find((s) => !isHealthy(s.pod))?.pod ??
    [...condemned].reverse().find((s) => !isHealthy(s.pod))?.pod;

  // A set being deleted only has its status written; the garbage collector takes its pods.
  if (set.metadata?.deletionTimestamp) return done();

  // Replicas, lowest ordinal first.
  for (const slot of slots) {
    if (processReplica(input, slot, monotonic, minReady, actions) && monotonic) return done();
  }

  // Condemned claims take the scale-down retention policy before their pods go.
  for (const { pod } of condemned) claimOwnerActions(updateSet, pod, input, actions);

  for (const { pod } of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return done();
      continue;
    }
    const isFirst = pod === firstUnhealthy;
    if (monotonic && !isFirst && !isRunningAndAvailable(pod, minReady, input.now)) return done();
    actions.push({ type: "deletePod", pod, why: "scale-down" });
    if (monotonic) return done();
  }

  if (set.spec?.updateStrategy?.type === "OnDelete") return done();

  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  for (let target = slots.length - 1; target >= partition; target--) {
    const slot = slots[target];
    if (!slot) continue;
    if (podRevision(slot.pod) !== input.updateRevision && !isTerminating(slot.pod)) {
      actions.push({ type: "deletePod", pod: slot.pod, why: "update" });
      status = { ...status, currentReplicas: (status.currentReplicas ?? 0) - 1 };
      return done();
    }
    if (!isHealthy(slot.pod)) return done();
  }
  return done();
}

/** kube's processReplica; returns true when a monotonic pass must stop here. */
function processReplica(
  input: PlanInput,
  slot: Slot,
  monotonic: boolean,
  minReady: number,
  actions: Action[],
): boolean {
  const { pod } = slot;
  if (slot.created && isFailedOrSucceeded(pod)) {
    // The pod comes back, same name and claims, once this one is gone.
    if (!isTerminating(pod)) actions.push({ type: "deletePod", pod, why: "failed" });
    return true;
  }
  if (!slot.created) {
    const claims = newClaimsOf(input.set, pod);
    const stale = claims.some((c) => {
      const have = input.getClaim(c.metadata?.name ?? "");
      return have !== undefined && claimIsStale(have, pod);
    });
    if (stale) return true;
    actions.push({ type: "createPod", pod, claims });
    return monotonic;
  }
  if (pod.status?.phase === "Pending" || pod.status?.phase === undefined) {
    const missing = newClaimsOf(input.set, pod).filter(
      (c) => input.getClaim(c.metadata?.name ?? "") === undefined,
    );
    if (missing.length > 0) actions.push({ type: "createClaims", pod, claims: missing });
  }
  if (monotonic) {
    if (isTerminating(pod)) return true;
    if (!isRunningAndReady(pod)) return true;
    if (!isRunningAndAvailable(pod, minReady, input.now)) return true;
  }
  if (!identityMatches(input.set, pod) || !storageMatches(input.set, pod)) {
    actions.push({ type: "updatePod", pod });
  }
  claimOwnerActions(input.updateSet, pod, input, actions);
  return false;
}

function claimOwnerActions(set: StatefulSet, pod: Pod, input: PlanInput, actions: Action[]) {
  for (const c of claimsOf(set, pod)) {
    const have = input.getClaim(c.metadata?.name ?? "");
    if (!have) continue;
    const refs = claimOwnersUpdate(set, pod, have);
    if (refs) actions.push({ type: "setClaimOwners", claim: have, ownerReferences: refs });
  }
}
