/**
 * Which pods and revisions a set claims (kube's ControllerRefManager as the StatefulSet
 * controller uses it): an orphan that the selector matches — and, for pods, whose name is
 * `<set>-<ordinal>` — is adopted; an owned one that no longer matches is released. Orphans being
 * deleted are left alone, and a set being deleted adopts nothing.
 *
 * @module
 */
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { ObjectMeta } from "kubernetes-types/meta/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { isMemberOf } from "./_identity.ts";

export interface Claimed<T> {
  /** Owned and matching: the set's. */
  keep: T[];
  adopt: T[];
  release: T[];
}

function controllerUid(meta: ObjectMeta | undefined): string | undefined {
  return meta?.ownerReferences?.find((r) => r.controller === true)?.uid;
}

function claim<T extends { metadata?: ObjectMeta }>(
  set: StatefulSet,
  objects: readonly T[],
  fits: (o: T) => boolean,
): Claimed<T> {
  const out: Claimed<T> = { keep: [], adopt: [], release: [] };
  let selector: ReturnType<typeof selectorFromLabelSelector>;
  try {
    selector = selectorFromLabelSelector(set.spec?.selector);
  } catch {
    return out;
  }
  const uid = set.metadata?.uid;
  const deleting = Boolean(set.metadata?.deletionTimestamp);
  for (const o of objects) {
    const owner = controllerUid(o.metadata);
    const match = matches(selector, o.metadata?.labels) && fits(o);
    if (owner === uid && uid !== undefined) {
      if (match) out.keep.push(o);
      else if (!deleting) out.release.push(o);
      else out.keep.push(o);
    } else if (owner === undefined && match && !deleting && !o.metadata?.deletionTimestamp) {
      out.adopt.push(o);
    }
  }
  return out;
}

export function claimPods(set: StatefulSet, pods: readonly Pod[]): Claimed<Pod> {
  return claim(set, pods, (p) => isMemberOf(set, p));
}

export function claimRevisions<T extends { metadata?: ObjectMeta }>(
  set: StatefulSet,
  revisions: readonly T[],
): Claimed<T> {
  return claim(set, revisions, () => true);
}
