/**
 * Owner references as the workload controllers write them: the controller reference an owner
 * puts on what it creates (`controller` and `blockOwnerDeletion` true, as kube's
 * `metav1.NewControllerRef`), finding an object's controller, and the patch that adopts or
 * releases an object.
 *
 * @module
 */
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import type { ResourceRef } from "../api/verbs.ts";
import type { ApiVerbs } from "../client/index.ts";

/** The apiVersion and kind of a controller's objects. */
export interface ObjectType {
  apiVersion: string;
  kind: string;
}

interface Owned {
  metadata?: { ownerReferences?: OwnerReference[] | undefined } | undefined;
}

interface Named {
  metadata?: { name?: string | undefined; uid?: string | undefined } | undefined;
}

/** The controller reference `owner` (of `apiVersion`/`kind`) puts on its dependents. */
export function ownerRef(owner: Named, type: ObjectType): OwnerReference {
  return {
    apiVersion: type.apiVersion,
    kind: type.kind,
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The reference of the object's controller, if it has one. */
export function controllerOf(obj: Owned): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * Replaces the object's owner references (adoption or release) with a merge patch guarded by
 * the object's `resourceVersion` (the default: a decision taken on a stale cache fails with a
 * conflict) or only by its `uid` (the same object, whatever changed since). An empty list
 * removes the field, as kube's omitempty leaves it out. Resolves to the patched object.
 */
export function patchOwners(
  client: ApiVerbs,
  ref: ResourceRef,
  obj: {
    metadata?:
      | {
          namespace?: string | undefined;
          name?: string | undefined;
          uid?: string | undefined;
          resourceVersion?: string | undefined;
        }
      | undefined;
  },
  owners: OwnerReference[],
  options: { guard?: "resourceVersion" | "uid" } = {},
) {
  const m = obj.metadata ?? {};
  const guard = options.guard === "uid" ? { uid: m.uid } : { resourceVersion: m.resourceVersion };
  return client.patch(ref, m.namespace ?? "", m.name ?? "", "merge", {
    metadata: { ownerReferences: owners.length > 0 ? owners : null, ...guard },
  });
}
