/**
 * Well-known informer indexes. Several components index the same shared informer the same way;
 * registering a well-known index twice (same name, same function) is a no-op, so each component
 * can ask for it without knowing who else did.
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";

/** Objects by the uid of their controller owner (`ownerReferences[controller=true]`). */
export const CONTROLLER_UID_INDEX = "by-controller-uid";

export function controllerUidIndex(obj: KubeObject): string[] {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  return ref?.uid ? [ref.uid] : [];
}
