/**
 * Controller references (a copy of the replicaset controller's helper: controllers never import
 * each other).
 *
 * @module
 */
import type { OwnerReference } from "kubernetes-types/meta/v1.js";

export function controllerOf(obj: {
  metadata?: { ownerReferences?: OwnerReference[] | undefined } | undefined;
}): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}
