/**
 * What the garbage collector does with one object, decided from the object and what is known of
 * each of its owners (kube `pkg/controller/garbagecollector/garbagecollector.go`,
 * attemptToDeleteItem / processDeletingDependentsItem / orphanDependents):
 *
 * - an owner being deleted with the `orphan` finalizer: strip its ownerReference from every
 *   dependent, then drop the finalizer;
 * - an owner being deleted with `foregroundDeletion`: its dependents are dealt with one by one
 *   (below); once no dependent with `blockOwnerDeletion` remains, drop the finalizer (the API
 *   server then removes the owner);
 * - a dependent: owners are `solid` (exist, not waiting), `dangling` (verified absent, or another
 *   uid under that name) or `waiting` (deleting in the foreground). With a solid owner left, only
 *   the references to dangling and waiting owners are removed. With none left, the dependent is
 *   deleted: in the foreground when it waits on an owner and has dependents of its own (so the
 *   owner waits for the whole subtree), else in the background.
 *   An owner whose kind is not served counts as solid: nothing is deleted on a guess.
 *
 * Not done: kube's "unblock" step for foreground cycles (a cycle of blocking references waits).
 *
 * @module
 */
import type { KubeObject, OwnerReference } from "../../api/types.ts";

export type OwnerState = "solid" | "dangling" | "waiting";

export type GcAction =
  | { type: "none" }
  | { type: "delete"; policy: "Background" | "Foreground" }
  | { type: "setOwnerReferences"; ownerReferences: OwnerReference[] }
  | { type: "orphanDependents" }
  | { type: "removeFinalizer"; finalizer: string };

export const ORPHAN = "orphan";
export const FOREGROUND = "foregroundDeletion";

/** Whether an object waits in the foreground for its dependents. */
export function isWaiting(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(FOREGROUND);
}

/**
 * The step for an object being deleted with a GC finalizer (the orphan finalizer first, as kube
 * does), or undefined when it holds none.
 */
export function planOwner(
  owner: KubeObject,
  dependents: readonly KubeObject[],
): GcAction | undefined {
  const m = owner.metadata;
  if (!m.deletionTimestamp) return undefined;
  const finalizers = m.finalizers ?? [];
  const uid = m.uid ?? "";
  if (finalizers.includes(ORPHAN)) {
    const referencing = dependents.some((d) =>
      (d.metadata.ownerReferences ?? []).some((r) => r.uid === uid),
    );
    return referencing
      ? { type: "orphanDependents" }
      : { type: "removeFinalizer", finalizer: ORPHAN };
  }
  if (finalizers.includes(FOREGROUND)) {
    const blocking = dependents.some((d) =>
      (d.metadata.ownerReferences ?? []).some(
        (r) => r.uid === uid && r.blockOwnerDeletion === true,
      ),
    );
    return blocking ? { type: "none" } : { type: "removeFinalizer", finalizer: FOREGROUND };
  }
  return undefined;
}

/** The step for a dependent, given each owner's state (same order as its ownerReferences). */
export function planDependent(
  obj: KubeObject,
  owners: readonly OwnerState[],
  hasDependents: boolean,
): GcAction {
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.length === 0 || obj.metadata.deletionTimestamp) return { type: "none" };
  const state = (i: number) => owners[i] ?? "solid";
  const solid = refs.filter((_r, i) => state(i) === "solid");
  if (solid.length === refs.length) return { type: "none" };
  if (solid.length > 0) return { type: "setOwnerReferences", ownerReferences: solid };
  const waiting = refs.some((_r, i) => state(i) === "waiting");
  return { type: "delete", policy: waiting && hasDependents ? "Foreground" : "Background" };
}
