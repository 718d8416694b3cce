/**
 * Which pods and revisions a set claims (the shared `../_claim.ts`): pods only when their name is
 * `<set>-<ordinal>` besides matching the selector.
 *
 * @module
 */
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { ObjectMeta } from "kubernetes-types/meta/v1.js";
import { type Claimed, claim } from "../_claim.ts";
import { isMemberOf } from "./_identity.ts";

export function claimPods(set: StatefulSet, pods: readonly Pod[]): Claimed<Pod> {
  return claim(set, pods, (p) => isMemberOf(set, p));
}

export function claimRevisions<T extends { metadata?: ObjectMeta }>(
  set: StatefulSet,
  revisions: readonly T[],
): Claimed<T> {
  return claim(set, revisions, () => true);
}
