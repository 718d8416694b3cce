/**
 * The garbage collector: watches every served resource that can be listed, watched and deleted
 * (events excepted) — the built-ins and the custom resources of every Established CRD, whose
 * monitors start and stop as CRDs come and go, as kube's GC resyncs its monitors from discovery —
 * keeps an index from owner uid to dependents, and runs `reconcileItem` for objects that may need
 * collecting:
 * - an object whose owners are not all known and alive (added, updated, or an owner deleted);
 * - an object being deleted with the `orphan` or `foregroundDeletion` finalizer, and again
 *   whenever one of its dependents changes or goes.
 * Owners not in the caches are looked up live by name and compared by uid before anything is
 * deleted; an owner of a custom kind whose CRD went since is gone with it (the CRD's deletion
 * deleted every object of the kind). Writes carry the object's resourceVersion (or a uid
 * precondition for deletes), so a decision taken on a stale cache fails with a conflict and is
 * retried.
 *
 * @module
 */
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { createInformer, type EventHandlers, type Informer } from "../../client/index.ts";
import { defineController } from "../_define.ts";
import { patchOwners } from "../_owners.ts";
import { isWaiting } from "./_plan.ts";
import {
  customResources,
  GC_RESOURCES,
  type GcResource,
  groupKind,
  itemKey,
  resourceForKind,
  resourceGroupKind,
  resourceKey,
} from "./_resources.ts";
import { type Dependent, reconcileItem } from "./reconcile.ts";

export { planDependent, planOwner } from "./_plan.ts";
export { customResources, GC_RESOURCES } from "./_resources.ts";

export const NAME = "garbage-collector-controller";
const BY_OWNER = "gc-owner-uid";

export const startGarbageCollector = defineController<{
  /** Watch exactly these (tests); default: the built-ins plus every CRD's custom resource. */
  resources?: readonly GcResource[];
}>({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, onStop }, options) {
    /** uid → the object and its resource, for every cached object. */
    const byUid = new Map<string, Dependent>();
    /** resourceKey → its monitor; `stop` is set for the custom resources' own informers. */
    const monitors = new Map<string, { res: GcResource; inf: Informer; stop?: () => void }>();
    let watched: readonly GcResource[] = [];
    /** group/kind of custom resources whose CRD went: their objects went with it. */
    const goneKinds = new Set<string>();

    const enqueue = (d: Dependent) =>
      queue.add(itemKey(d.res, d.obj.metadata.namespace ?? "", d.obj.metadata.name ?? ""));
    const dependents = (uid: string): Dependent[] => {
      const out: Dependent[] = [];
      for (const { res, inf } of monitors.values())
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
    /** Objects with an ownerReference to one of these group/kinds. */
    const referrersOf = (kinds: ReadonlySet<string>) => {
      for (const d of byUid.values())
        if (
          (d.obj.metadata.ownerReferences ?? []).some((r) =>
            kinds.has(groupKind(r.apiVersion, r.kind)),
          )
        )
          enqueue(d);
    };

    const handlersFor = (res: GcResource): EventHandlers<KubeObject> => {
      const seen = (obj: KubeObject) => {
        const d = { res, obj };
        if (obj.metadata.uid) byUid.set(obj.metadata.uid, d);
        if (needsLook(obj)) enqueue(d);
        ownersWaiting(obj);
        // An owner turning to foreground deletion: its dependents must react.
        if (isWaiting(obj)) for (const dep of dependents(obj.metadata.uid ?? "")) enqueue(dep);
      };
      return {
        onAdd: seen,
        onUpdate: (_o, n) => seen(n),
        onDelete: (obj) => {
          const uid = obj.metadata.uid ?? "";
          if (byUid.get(uid)?.res === res) byUid.delete(uid);
          for (const d of dependents(uid)) enqueue(d);
          ownersWaiting(obj);
        },
      };
    };
    const monitor = (res: GcResource, inf: Informer, own: boolean) => {
      inf.index(BY_OWNER, (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid));
      if (own) {
        const remove = inf.addHandlers(handlersFor(res));
        monitors.set(resourceKey(res), {
          res,
          inf,
          stop: () => {
            remove();
            inf.stop().catch(() => undefined);
          },
        });
        inf.start();
      } else {
        watch(inf, handlersFor(res));
        monitors.set(resourceKey(res), { res, inf });
      }
    };
    const unmonitor = (key: string) => {
      const m = monitors.get(key);
      if (!m?.stop) return;
      monitors.delete(key);
      m.stop();
      for (const obj of m.inf.list()) {
        const uid = obj.metadata.uid ?? "";
        if (byUid.get(uid)?.res === m.res) byUid.delete(uid);
        for (const d of dependents(uid)) enqueue(d);
      }
    };

    for (const res of options.resources ?? GC_RESOURCES)
      monitor(res, ctx.informers.get(res.ref), false);
    const builtins = new Set(monitors.keys());
    watched = [...monitors.values()].map((m) => m.res);

    if (!options.resources) {
      // Custom resources: a monitor per Established CRD, started and stopped as CRDs change.
      const crds = ctx.informers.get(REFS.customresourcedefinitions);
      const resync = () => {
        const wanted = new Map<string, GcResource>();
        for (const res of customResources(crds.list()))
          if (!builtins.has(resourceKey(res))) wanted.set(resourceKey(res), res);
        const changed = new Set<string>();
        for (const [key, m] of [...monitors]) {
          if (builtins.has(key)) continue;
          const want = wanted.get(key);
          if (want && want.ref.version === m.res.ref.version && want.kind === m.res.kind) continue;
          unmonitor(key);
          if (!want) goneKinds.add(resourceGroupKind(m.res));
          changed.add(resourceGroupKind(m.res));
        }
        for (const [key, res] of wanted) {
          if (monitors.has(key)) continue;
          monitor(res, createInformer(ctx.client, res.ref), true);
          goneKinds.delete(resourceGroupKind(res));
          changed.add(resourceGroupKind(res));
        }
        if (changed.size === 0) return;
        watched = [...monitors.values()].map((m) => m.res);
        // Owners of these kinds were unknown (solid) or are gone now: judge again.
        referrersOf(changed);
      };
      watch(crds, { onAdd: resync, onUpdate: resync, onDelete: resync });
      onStop(() => {
        for (const [key, m] of [...monitors])
          if (m.stop) {
            monitors.delete(key);
            m.stop();
          }
      });
    }

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const nsOf = (d: Dependent) => d.obj.metadata.namespace ?? "";
    const nameOf = (d: Dependent) => d.obj.metadata.name ?? "";

    return (key) =>
      reconcileItem(key, {
        resources: () => watched,
        synced: () => [...monitors.values()].every((m) => m.inf.hasSynced()),
        get: (res, ns, name) => monitors.get(resourceKey(res))?.inf.get(ns, name),
        dependents,
        ownerState: async (ref, dep) => {
          const res = resourceForKind(ref.apiVersion, ref.kind, watched);
          // A kind not served is no proof of absence, unless its CRD (and so its objects) went.
          if (!res)
            return goneKinds.has(groupKind(ref.apiVersion, ref.kind)) ? "dangling" : "solid";
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
