/**
 * How the StatefulSet controller names its ControllerRevisions (kube's `pkg/controller/history`
 * and the controller's `newRevision`); the data and the rest of the history are shared
 * (`../_history.ts`):
 *
 * - the name is `<set>-<hash>`: FNV-32 (FNV-1) over the data and the collision count, printed in decimal
 *   and mapped through apimachinery's SafeEncodeString alphabet; the hash is also the
 *   `controller.kubernetes.io/hash` label; the other labels are the template's, the annotations
 *   the set's, and the set is the controller owner.
 *
 * @module
 */
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import { safeEncodeString } from "../_hash.ts";
import { revisionData, sortedJson } from "../_history.ts";
import { controllerRef } from "./_identity.ts";

export const HASH_LABEL = "controller.kubernetes.io/hash";

/** FNV-1 (multiply, then xor: Go's fnv.New32, which kube's history package uses). */
export function fnv32(bytes: Uint8Array, hash = 0x811c9dc5): number {
  let h = hash;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

export function revisionHash(data: unknown, collisionCount: number): string {
  const enc = new TextEncoder();
  let h = fnv32(enc.encode(sortedJson(data)));
  h = fnv32(enc.encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}

/** The name a revision of `set` with this hash has (the prefix is cut to keep it ≤ 253). */
export function revisionName(set: StatefulSet, hash: string): string {
  return `${(set.metadata?.name ?? "").slice(0, 223)}-${hash}`;
}

export function newRevision(
  set: StatefulSet,
  revision: number,
  collisionCount: number,
): ControllerRevision {
  const data = revisionData(set);
  const hash = revisionHash(data, collisionCount);
  const metadata: ControllerRevision["metadata"] & object = {
    name: revisionName(set, hash),
    labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
    annotations: { ...(set.metadata?.annotations ?? {}) },
    ownerReferences: [controllerRef(set)],
  };
  if (set.metadata?.namespace !== undefined) metadata.namespace = set.metadata.namespace;
  return { apiVersion: "apps/v1", kind: "ControllerRevision", metadata, data, revision };
}
