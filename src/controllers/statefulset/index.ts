/**
 * The StatefulSet controller: stable pod names, ordered start and stop, per-ordinal claims,
 * revision history and rolling updates, keyed by StatefulSet. Set changes and changes of the pods
 * a set controls enqueue the set; the reconcile itself is level-based (`reconcile.ts`).
 *
 * @module
 */
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, splitKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { patchOwners } from "../_owners.ts";
import { claimPods } from "./_adopt.ts";
import { reconcileStatefulSet } from "./reconcile.ts";

export const NAME = "statefulset-controller";
// Not the shared controller-uid index: this one also files orphans (under `orphan:<ns>`) for
// adoption, so it has a name of its own.
const BY_CONTROLLER = "statefulset-controller-or-orphan";

export { planStatefulSet } from "./_plan.ts";
export { reconcileStatefulSet, type StatefulSetDeps } from "./reconcile.ts";

const orphanKey = (namespace: string) => `orphan:${namespace}`;

/** Objects by their controller's uid; objects without a controller under `orphan:<namespace>`. */
function controllerUid(obj: KubeObject): string[] {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return [orphanKey(obj.metadata.namespace ?? "")];
  return ref.kind === "StatefulSet" && ref.uid ? [ref.uid] : [];
}

export const startStatefulSetController = defineController({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, recorder }) {
    const sets = ctx.informers.get<StatefulSet & KubeObject>(REFS.statefulsets);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const revisions = ctx.informers.get<ControllerRevision & KubeObject>(REFS.controllerrevisions);
    const claims = ctx.informers.get<PersistentVolumeClaim & KubeObject>(
      REFS.persistentvolumeclaims,
    );
    pods.index(BY_CONTROLLER, controllerUid);
    revisions.index(BY_CONTROLLER, controllerUid);

    const setOfPod = (pod: Pod | undefined) => {
      if (!pod?.metadata) return;
      const controller = pod.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!controller) {
        // An orphan wakes the sets that would adopt it.
        for (const set of sets.list(pod.metadata.namespace ?? "")) {
          if (claimPods(set, [pod]).adopt.length > 0) queue.add(objectKey(set));
        }
        return;
      }
      const ref = controller.kind === "StatefulSet" ? controller : undefined;
      if (!ref) return;
      const set = sets.get(pod.metadata.namespace ?? "", ref.name);
      if (set && set.metadata.uid === ref.uid) queue.add(objectKey(set));
    };

    const setsOfClaim = (claim: PersistentVolumeClaim) => {
      const name = claim.metadata?.name ?? "";
      for (const set of sets.list(claim.metadata?.namespace ?? "")) {
        const prefixes = (set.spec?.volumeClaimTemplates ?? []).map(
          (t) => `${t.metadata?.name ?? ""}-${set.metadata.name ?? ""}-`,
        );
        if (prefixes.some((p) => name.startsWith(p))) queue.add(objectKey(set));
      }
    };

    watch(sets, {
      onAdd: (s) => queue.add(objectKey(s)),
      onUpdate: (_o, s) => queue.add(objectKey(s)),
      onDelete: (s) => queue.add(objectKey(s)),
    });
    // A claim going away may unblock a pod waiting on a stale claim (whenScaled: Delete).
    watch(claims, { onDelete: (c) => setsOfClaim(c) });
    watch(pods, {
      onAdd: (p) => setOfPod(p),
      onUpdate: (o, p) => {
        setOfPod(o);
        setOfPod(p);
      },
      onDelete: (p) => setOfPod(p),
    });

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const nsOf = (o: { metadata?: { namespace?: string } }) => o.metadata?.namespace ?? "";

    return (key) =>
      reconcileStatefulSet(key, {
        getSet: (ns, name) => sets.get(ns, name),
        candidatePods: (set) => [
          ...pods.byIndex(BY_CONTROLLER, set.metadata?.uid ?? ""),
          ...pods.byIndex(BY_CONTROLLER, orphanKey(nsOf(set))),
        ],
        candidateRevisions: (set) => [
          ...revisions.byIndex(BY_CONTROLLER, set.metadata?.uid ?? ""),
          ...revisions.byIndex(BY_CONTROLLER, orphanKey(nsOf(set))),
        ],
        setPodOwners: async (pod, owners) =>
          typed<Pod>(await patchOwners(ctx.client, REFS.pods, pod, owners, { guard: "uid" })),
        setRevisionOwners: async (revision, owners) =>
          typed<ControllerRevision>(
            await patchOwners(ctx.client, REFS.controllerrevisions, revision, owners, {
              guard: "uid",
            }),
          ),
        getClaim: (ns, name) => claims.get(ns, name),
        getPod: (ns, name) => pods.get(ns, name),
        createPod: async (pod) => {
          await ctx.client.create(REFS.pods, nsOf(pod), asKube(pod));
        },
        updatePod: async (pod) => {
          await ctx.client.update(REFS.pods, nsOf(pod), asKube(pod));
        },
        deletePod: async (pod) => {
          const uid = pod.metadata?.uid;
          await ctx.client
            .delete(REFS.pods, nsOf(pod), pod.metadata?.name ?? "", {
              ...(uid ? { preconditions: { uid } } : {}),
            })
            .catch(ignoreNotFound);
        },
        createClaim: async (claim) => {
          await ctx.client.create(REFS.persistentvolumeclaims, nsOf(claim), asKube(claim));
        },
        setClaimOwners: async (claim, owners) => {
          await patchOwners(ctx.client, REFS.persistentvolumeclaims, claim, owners, {
            guard: "uid",
          });
        },
        createRevision: async (revision) => {
          try {
            const created = await ctx.client.create(
              REFS.controllerrevisions,
              nsOf(revision),
              asKube(revision),
            );
            return typed<ControllerRevision>(created);
          } catch (e) {
            if (isStatusError(e, "AlreadyExists")) return undefined;
            throw e;
          }
        },
        getRevision: async (name) => {
          try {
            const got = await ctx.client.get(
              REFS.controllerrevisions,
              splitKey(key).namespace,
              name,
            );
            return typed<ControllerRevision>(got);
          } catch (e) {
            if (isStatusError(e, "NotFound")) return undefined;
            throw e;
          }
        },
        renumberRevision: async (revision, to) => {
          const patched = await ctx.client.patch(
            REFS.controllerrevisions,
            nsOf(revision),
            revision.metadata?.name ?? "",
            "merge",
            { revision: to },
          );
          return typed<ControllerRevision>(patched);
        },
        deleteRevision: async (revision) => {
          await ctx.client
            .delete(REFS.controllerrevisions, nsOf(revision), revision.metadata?.name ?? "")
            .catch(ignoreNotFound);
        },
        writeStatus: async (set, status) => {
          // Go omits zero counters and empty revisions (omitempty); null removes them here.
          const body: Record<string, unknown> = { ...status };
          for (const f of [
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "currentRevision",
            "updateRevision",
            "observedGeneration",
          ]) {
            if (body[f] === 0 || body[f] === "") body[f] = null;
          }
          await ctx.client
            .patch(sub(REFS.statefulsets, "status"), nsOf(set), set.metadata?.name ?? "", "merge", {
              status: body,
            })
            .catch(ignoreNotFound);
        },
        event: (set, type, reason, message) => recorder.event(asKube(set), type, reason, message),
        now: ctx.now,
      });
  },
});
