/**
 * One reconcile of a StatefulSet: resolve its revisions, plan (`_plan.ts`), carry the actions out
 * in order (stopping at the first failure, which the runner retries), write the status when it
 * changed, and trim the revision history. Events are worded as kube's stateful pod control words
 * them. Dependencies come in as plain functions so the whole is tested without a server.
 *
 * @module
 */
import type {
  ControllerRevision,
  StatefulSet,
  StatefulSetStatus,
} from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { splitKey } from "../../api/types.ts";
import { applyClaim } from "../_claim.ts";
import {
  applyRevision,
  type HistoryDeps,
  resolveRevisions,
  revisionsToTruncate,
} from "../_history.ts";
import { claimPods, claimRevisions } from "./_adopt.ts";
import {
  controllerRef,
  ordinalOf,
  podClaims,
  podRevision,
  withIdentityLabels,
  withStorage,
} from "./_identity.ts";
import { type Action, planStatefulSet } from "./_plan.ts";
import { newRevision } from "./_revision.ts";

export interface StatefulSetDeps extends HistoryDeps {
  getSet(namespace: string, name: string): StatefulSet | undefined;
  /** Pods of the set's namespace whose controller is the set (by uid) or that have none. */
  candidatePods(set: StatefulSet): Pod[];
  /** The same for ControllerRevisions. */
  candidateRevisions(set: StatefulSet): ControllerRevision[];
  /** Replaces the pod's owner references (uid precondition); resolves to the stored pod. */
  setPodOwners(pod: Pod, owners: OwnerReference[]): Promise<Pod>;
  setRevisionOwners(
    revision: ControllerRevision,
    owners: OwnerReference[],
  ): Promise<ControllerRevision>;
  getClaim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  /** The pod as the cache has it now (for updates). */
  getPod(namespace: string, name: string): Pod | undefined;
  createPod(pod: Pod): Promise<void>;
  updatePod(pod: Pod): Promise<void>;
  /** Deletes the pod with a uid precondition; a pod already gone is not an error. */
  deletePod(pod: Pod): Promise<void>;
  createClaim(claim: PersistentVolumeClaim): Promise<void>;
  setClaimOwners(claim: PersistentVolumeClaim, owners: OwnerReference[]): Promise<void>;
  deleteRevision(revision: ControllerRevision): Promise<void>;
  writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void>;
  event(set: StatefulSet, type: "Normal" | "Warning", reason: string, message: string): void;
  now(): Date;
}

const STATUS_FIELDS = [
  "observedGeneration",
  "replicas",
  "readyReplicas",
  "currentReplicas",
  "updatedReplicas",
  "availableReplicas",
  "currentRevision",
  "updateRevision",
  "collisionCount",
] as const;

function statusChanged(have: StatefulSetStatus | undefined, want: StatefulSetStatus): boolean {
  return STATUS_FIELDS.some((f) => (have?.[f] ?? 0) !== (want[f] ?? 0));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function reconcileStatefulSet(
  key: string,
  deps: StatefulSetDeps,
): Promise<{ requeueAfter?: number }> {
  const { namespace, name } = splitKey(key);
  const set = deps.getSet(namespace, name);
  if (!set) return {};
  const setName = set.metadata?.name ?? "";

  const ownedRevisions = await applyClaim(
    claimRevisions(set, deps.candidateRevisions(set)),
    controllerRef(set),
    (r, o) => deps.setRevisionOwners(r, o),
  );
  const revisions = await resolveRevisions(ownedRevisions, deps, {
    make: (revision, collisionCount) => newRevision(set, revision, collisionCount),
    collisionCount: set.status?.collisionCount,
    current: set.status?.currentRevision,
  });
  const pods = await applyClaim(
    claimPods(set, deps.candidatePods(set)),
    controllerRef(set),
    (p, o) => deps.setPodOwners(p, o),
  );
  const plan = planStatefulSet({
    set,
    currentSet: applyRevision(set, revisions.current),
    updateSet: applyRevision(set, revisions.update),
    currentRevision: revisions.current.metadata?.name ?? "",
    updateRevision: revisions.update.metadata?.name ?? "",
    collisionCount: revisions.collisionCount,
    pods,
    getClaim: (claim) => deps.getClaim(namespace, claim),
    now: deps.now(),
  });

  const createClaims = async (pod: Pod, claims: PersistentVolumeClaim[]) => {
    const podName = pod.metadata?.name ?? "";
    const errors: string[] = [];
    for (const claim of claims) {
      const claimName = claim.metadata?.name ?? "";
      const have = deps.getClaim(namespace, claimName);
      if (have) {
        if (have.metadata?.deletionTimestamp) errors.push(`pvc ${claimName} is being deleted`);
        continue;
      }
      try {
        await deps.createClaim(claim);
        deps.event(
          set,
          "Normal",
          "SuccessfulCreate",
          `create Claim ${claimName} Pod ${podName} in StatefulSet ${setName} success`,
        );
      } catch (e) {
        if (isStatusError(e, "AlreadyExists")) continue;
        errors.push(`failed to create PVC ${claimName}: ${message(e)}`);
        deps.event(
          set,
          "Warning",
          "FailedCreate",
          `create Claim ${claimName} for Pod ${podName} in StatefulSet ${setName} failed error: ${message(e)}`,
        );
      }
    }
    if (errors.length > 0) throw new Error(errors.join(", "));
  };

  const run = async (action: Action) => {
    switch (action.type) {
      case "createPod": {
        const podName = action.pod.metadata?.name ?? "";
        try {
          await createClaims(action.pod, action.claims);
          await deps.createPod(action.pod);
        } catch (e) {
          // A pod already there is a stale cache, not a failure worth an event.
          if (!isStatusError(e, "AlreadyExists")) {
            deps.event(
              set,
              "Warning",
              "FailedCreate",
              `create Pod ${podName} in StatefulSet ${setName} failed error: ${message(e)}`,
            );
          }
          throw e;
        }
        deps.event(
          set,
          "Normal",
          "SuccessfulCreate",
          `create Pod ${podName} in StatefulSet ${setName} successful`,
        );
        return;
      }
      case "createClaims":
        await createClaims(action.pod, action.claims);
        return;
      case "deletePod": {
        const podName = action.pod.metadata?.name ?? "";
        try {
          await deps.deletePod(action.pod);
        } catch (e) {
          deps.event(
            set,
            "Warning",
            "FailedDelete",
            `delete Pod ${podName} in StatefulSet ${setName} failed error: ${message(e)}`,
          );
          throw e;
        }
        deps.event(
          set,
          "Normal",
          "SuccessfulDelete",
          `delete Pod ${podName} in StatefulSet ${setName} successful`,
        );
        return;
      }
      case "updatePod": {
        const latest = deps.getPod(namespace, action.pod.metadata?.name ?? "") ?? action.pod;
        const updated = withStorage(set, withIdentityLabels(latest));
        await createClaims(updated, [...podClaims(set, ordinalOf(updated)).values()]);
        await deps.updatePod(updated);
        deps.event(
          set,
          "Normal",
          "SuccessfulUpdate",
          `update Pod ${updated.metadata?.name ?? ""} in StatefulSet ${setName} successful`,
        );
        return;
      }
      case "setClaimOwners":
        await deps.setClaimOwners(action.claim, action.ownerReferences);
        return;
    }
  };

  let failure: unknown;
  for (const action of plan.actions) {
    try {
      await run(action);
    } catch (e) {
      failure = e;
      break;
    }
  }

  if (statusChanged(set.status, plan.status)) await deps.writeStatus(set, plan.status);
  if (failure !== undefined) throw failure;

  const live = new Set<string>([
    revisions.current.metadata?.name ?? "",
    revisions.update.metadata?.name ?? "",
    ...pods.map(podRevision),
  ]);
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  for (const r of revisionsToTruncate(revisions.all, live, limit)) await deps.deleteRevision(r);

  return plan.requeueAfterMs !== undefined ? { requeueAfter: plan.requeueAfterMs } : {};
}
