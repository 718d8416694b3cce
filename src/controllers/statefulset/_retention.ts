/**
 * `persistentVolumeClaimRetentionPolicy` as owner references (kube's
 * claimOwnerMatchesSetAndPod / updateClaimOwnerRefForSetAndPod): a claim whose deletion the
 * policy asks for is owned by the set (`whenDeleted: Delete`) or, once its pod is scaled away
 * (`whenScaled: Delete`), by that pod, and the garbage collector removes it with its owner.
 * With both Delete, a scaled-down pod's claim is owned by the pod only. Retain means neither.
 *
 * @module
 */
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { inOrdinalRange } from "./_identity.ts";

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

function hasRef(claim: PersistentVolumeClaim, uid: string | undefined): boolean {
  return uid !== undefined && (claim.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
}

export function setOwnerRef(set: StatefulSet): OwnerReference {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    name: set.metadata?.name ?? "",
    uid: set.metadata?.uid ?? "",
  };
}

export function podOwnerRef(pod: Pod): OwnerReference {
  return {
    apiVersion: "v1",
    kind: "Pod",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

/**
 * The claim's owner references as the policy wants them, or undefined when they already are.
 * References to other owners are kept.
 */
export function claimOwnersUpdate(
  set: StatefulSet,
  pod: Pod,
  claim: PersistentVolumeClaim,
): OwnerReference[] | undefined {
  const want = desiredClaimOwners(set, pod);
  const setUid = set.metadata?.uid;
  const podUid = pod.metadata?.uid;
  if (hasRef(claim, setUid) === want.setOwned && hasRef(claim, podUid) === want.podOwned) {
    return undefined;
  }
  const refs = (claim.metadata?.ownerReferences ?? []).filter(
    (r) => r.uid !== setUid && r.uid !== podUid,
  );
  if (want.setOwned) refs.push(setOwnerRef(set));
  if (want.podOwned) refs.push(podOwnerRef(pod));
  return refs;
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
