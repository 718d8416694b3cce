/**
 * `persistentVolumeClaimRetentionPolicy` as owner references (kube's
 * claimOwnerMatchesSetAndPod / updateClaimOwnerRefForSetAndPod): a claim whose deletion the
 * policy asks for is owned by the set (`whenDeleted: Delete`) or, once its pod is scaled away
 * (`whenScaled: Delete`), by that pod, as its controller, and the garbage collector removes it
 * with its owner.
 * With both Delete, a scaled-down pod's claim is owned by the pod only. Retain means neither.
 *
 * @module
 */
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { ownerRef } from "../_owners.ts";
import { controllerRef, inOrdinalRange } from "./_identity.ts";

export function desiredClaimOwners(
  set: StatefulSet,
  pod: Pod,
): { setOwned: boolean; podOwned: boolean } {
  const policy = set.spec?.persistentVolumeClaimRetentionPolicy;
  const scaledDown = !inOrdinalRange(set, pod);
  const podOwned = policy?.whenScaled === "Delete" && scaledDown;
  const setOwned = policy?.whenDeleted === "Delete" && !podOwned;
  return { setOwned, podOwned };
}

type Ref = OwnerReference;

function hasRef(claim: PersistentVolumeClaim, uid: string | undefined): boolean {
  return uid !== undefined && (claim.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
}

const refersTo = (r: Ref, kind: string, name: string | undefined) =>
  r.kind === kind && r.name === name;

/** A ref naming the object (kind and name) under another uid: an earlier incarnation's. */
function hasStaleRef(claim: PersistentVolumeClaim, kind: string, meta: Pod["metadata"]): boolean {
  const ref = (claim.metadata?.ownerReferences ?? []).find((r) => refersTo(r, kind, meta?.name));
  return ref !== undefined && ref.uid !== (meta?.uid ?? "");
}

export function setOwnerRef(set: StatefulSet): OwnerReference {
  return controllerRef(set);
}

export function podOwnerRef(pod: Pod): OwnerReference {
  return ownerRef(pod, { apiVersion: "v1", kind: "Pod" });
}

/**
 * The claim's owner references as the policy wants them, or undefined when they already are
 * (kube's isClaimOwnerUpToDate / updateClaimOwnerRefForSetAndPod). The set and the pod own a
 * claim as its controller. A claim still owned by an earlier set or pod of the same name is left
 * alone (the garbage collector is removing it); one controlled by someone else only loses our
 * references. References to other owners are kept.
 */
export function claimOwnersUpdate(
  set: StatefulSet,
  pod: Pod,
  claim: PersistentVolumeClaim,
): OwnerReference[] | undefined {
  if (hasStaleRef(claim, "StatefulSet", set.metadata) || hasStaleRef(claim, "Pod", pod.metadata))
    return undefined;
  const setUid = set.metadata?.uid;
  const podUid = pod.metadata?.uid;
  const refs = claim.metadata?.ownerReferences ?? [];
  const ours = (r: Ref) =>
    refersTo(r, "StatefulSet", set.metadata?.name) || refersTo(r, "Pod", pod.metadata?.name);
  const scrubbed = refs.filter((r) => !ours(r));
  const unexpected = refs.some(
    (r) => r.controller === true && r.uid !== setUid && r.uid !== podUid,
  );
  if (unexpected) {
    return hasRef(claim, setUid) || hasRef(claim, podUid) ? scrubbed : undefined;
  }
  const nonController = refs.some(
    (r) => (r.uid === setUid || r.uid === podUid) && r.controller !== true,
  );
  const want = desiredClaimOwners(set, pod);
  if (
    !nonController &&
    hasRef(claim, setUid) === want.setOwned &&
    hasRef(claim, podUid) === want.podOwned
  ) {
    return undefined;
  }
  if (want.setOwned) scrubbed.push(setOwnerRef(set));
  if (want.podOwned) scrubbed.push(podOwnerRef(pod));
  return scrubbed;
}

/**
 * A claim left owned by an earlier pod of the same name (whenScaled: Delete): the garbage
 * collector is about to remove it, so the new pod must wait rather than mount it.
 */
export function claimIsStale(claim: PersistentVolumeClaim, pod: Pod): boolean {
  const ref = (claim.metadata?.ownerReferences ?? []).find(
    (r) => r.kind === "Pod" && r.name === pod.metadata?.name,
  );
  return ref !== undefined && ref.uid !== (pod.metadata?.uid ?? "");
}
