/**
 * The garbage collector: watches every served resource (events excepted), keeps an index from
 * owner uid to dependents, and runs `reconcileItem` for objects that may need collecting:
 * - an object whose owners are not all known and alive (added, updated, or an owner deleted);
 * - an object being deleted with the `orphan` or `foregroundDeletion` finalizer, and again
 *   whenever one of its dependents changes or goes.
 * Owners not in the caches are looked up live by name and compared by uid before anything is
 * deleted. Writes carry the object's resourceVersion (or a uid precondition for deletes), so a
 * decision taken on a stale cache fails with a conflict and is retried.
 *
 * @module
 */
import { isStatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Informer } from "../../client/informer.ts";
import { defineController } from "../_define.ts";
import { patchOwners } from "../_owners.ts";
import { isWaiting } from "./_plan.ts";
import { GC_RESOURCES, type GcResource, itemKey, resourceForKind } from "./_resources.ts";
import { type Dependent, reconcileItem } from "./reconcile.ts";

export { planDependent, planOwner } from "./_plan.ts";
export { GC_RESOURCES } from "./_resources.ts";

export const NAME = "garbage-collector-controller";
const BY_OWNER = "gc-owner-uid";

export const startGarbageCollector = defineController<{ resources?: readonly GcResource[] }>({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch }, options) {
    const resources = options.resources ?? GC_RESOURCES;
    /** uid → the object and its resource, for every cached object. */
    const byUid = new Map<string, Dependent>();
    const informers = new Map<GcResource, Informer>();

    const enqueue = (d: Dependent) =>
      queue.add(itemKey(d.res, d.obj.metadata.namespace ?? "", d.obj.metadata.name ?? ""));
    const dependents = (uid: string): Dependent[] => {
      const out: Dependent[] = [];
      for (const [res, inf] of informers)
        for (const obj of inf.byIndex(BY_OWNER, uid)) out.push({ res, obj });
      return out;
    };
    const ownersWaiting = (obj: KubeObject) => {
      for (const r of obj.metadata.ownerReferences ?? []) {
        const owner = byUid.get(r.uid);
        if (owner?.obj.metadata.deletionTimestamp) enqueue(owner);
      }
    };
    const needsLook = (obj: KubeObject) => {
      const m = obj.metadata;
      if (
        m.deletionTimestamp &&
        (m.finalizers ?? []).some((f) => f === "orphan" || f === "foregroundDeletion")
      )
        return true;
      return (m.ownerReferences ?? []).some((r) => {
        const owner = byUid.get(r.uid);
        return !owner || isWaiting(owner.obj);
      });
    };

    for (const res of resources) {
      const inf = ctx.informers.get(res.ref);
      inf.index(BY_OWNER, (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid));
      informers.set(res, inf);
      const seen = (obj: KubeObject) => {
        const d = { res, obj };
        if (obj.metadata.uid) byUid.set(obj.metadata.uid, d);
        if (needsLook(obj)) enqueue(d);
        ownersWaiting(obj);
        // An owner turning to foreground deletion: its dependents must react.
        if (isWaiting(obj)) for (const dep of dependents(obj.metadata.uid ?? "")) enqueue(dep);
      };
      watch(inf, {
        onAdd: seen,
        onUpdate: (_o, n) => seen(n),
        onDelete: (obj) => {
          const uid = obj.metadata.uid ?? "";
          if (byUid.get(uid)?.res === res) byUid.delete(uid);
          for (const d of dependents(uid)) enqueue(d);
          ownersWaiting(obj);
        },
      });
    }

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const nsOf = (d: Dependent) => d.obj.metadata.namespace ?? "";
    const nameOf = (d: Dependent) => d.obj.metadata.name ?? "";

    return (key) =>
      reconcileItem(key, {
        synced: () => [...informers.values()].every((i) => i.hasSynced()),
        get: (res, ns, name) => informers.get(res)?.get(ns, name),
        dependents,
        ownerState: async (ref, dep) => {
          const res = resourceForKind(ref.apiVersion, ref.kind);
          if (!res) return "solid";
          if (res.namespaced && !dep.res.namespaced) return "dangling";
          const cached = byUid.get(ref.uid);
          if (cached) return isWaiting(cached.obj) ? "waiting" : "solid";
          try {
            const live = await ctx.client.get(res.ref, res.namespaced ? nsOf(dep) : "", ref.name);
            if (live.metadata.uid !== ref.uid) return "dangling";
            return isWaiting(live) ? "waiting" : "solid";
          } catch (e) {
            if (isStatusError(e, "NotFound")) return "dangling";
            throw e;
          }
        },
        delete: async (d, policy) => {
          await ctx.client
            .delete(d.res.ref, nsOf(d), nameOf(d), {
              propagationPolicy: policy,
              preconditions: { uid: d.obj.metadata.uid ?? "" },
            })
            .catch(ignoreNotFound);
        },
        setOwnerReferences: async (d, refs) => {
          await patchOwners(ctx.client, d.res.ref, d.obj, refs).catch(ignoreNotFound);
        },
        removeFinalizer: async (d, finalizer) => {
          const finalizers = (d.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
          await ctx.client
            .patch(d.res.ref, nsOf(d), nameOf(d), "merge", {
              metadata: {
                resourceVersion: d.obj.metadata.resourceVersion,
                finalizers: finalizers.length > 0 ? finalizers : null,
              },
            })
            .catch(ignoreNotFound);
        },
        enqueue,
      });
  },
});
