/**
 * The Deployment controller: rolls each Deployment's pod template out through ReplicaSets.
 * Deployment events enqueue the Deployment; ReplicaSet events enqueue their controlling
 * Deployment (or, for orphans, every Deployment whose selector matches); pod deletions enqueue
 * the Deployment owning the pod's set, which a Recreate rollout waits for. The sync itself is
 * level-based (`reconcile.ts`).
 *
 * @module
 */
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { controllerOf, patchOwners } from "../_owners.ts";
import { DEPLOYMENT } from "./_newrs.ts";
import { REVISION } from "./_revision.ts";
import { reconcileDeployment } from "./reconcile.ts";

export { computeHash } from "../_hash.ts";
export { maxSurge, maxUnavailable, proportionalSizes, resolveFenceposts } from "./_arith.ts";
export { type DeploymentDeps, reconcileDeployment } from "./reconcile.ts";

export const NAME = "deployment-controller";

export const startDeploymentController = defineController({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, eventsFor }) {
    const deployments = ctx.informers.get<Deployment & KubeObject>(REFS.deployments);
    const sets = ctx.informers.get<ReplicaSet & KubeObject>(REFS.replicasets);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);

    const ownerOf = (rs: ReplicaSet): Deployment | undefined => {
      const ref = controllerOf(rs);
      if (ref?.kind !== "Deployment") return undefined;
      const d = deployments.get(rs.metadata?.namespace ?? "", ref.name);
      return d?.metadata?.uid === ref.uid ? d : undefined;
    };
    const enqueueSet = (rs: ReplicaSet) => {
      if (controllerOf(rs)) {
        const d = ownerOf(rs);
        if (d) queue.add(objectKey(d));
        return;
      }
      for (const d of deployments.list(rs.metadata?.namespace ?? ""))
        if (matches(selectorFromLabelSelector(d.spec?.selector), rs.metadata?.labels ?? {}))
          queue.add(objectKey(d));
    };
    const enqueuePod = (p: Pod) => {
      const ref = controllerOf(p);
      if (ref?.kind !== "ReplicaSet") return;
      const rs = sets.get(p.metadata?.namespace ?? "", ref.name);
      if (rs && rs.metadata?.uid === ref.uid) {
        const d = ownerOf(rs);
        if (d?.spec?.strategy?.type === "Recreate") queue.add(objectKey(d));
      }
    };

    watch(deployments, {
      onAdd: (d) => queue.add(objectKey(d)),
      onUpdate: (_o, d) => queue.add(objectKey(d)),
      onDelete: (d) => queue.add(objectKey(d)),
    });
    watch(sets, {
      onAdd: enqueueSet,
      onUpdate: (o, rs) => {
        if (controllerOf(o)?.uid !== controllerOf(rs)?.uid) enqueueSet(o);
        enqueueSet(rs);
      },
      onDelete: enqueueSet,
    });
    watch(pods, {
      onUpdate: (_o, p) => {
        if (p.metadata?.deletionTimestamp) enqueuePod(p);
      },
      onDelete: enqueuePod,
    });

    const event = eventsFor(DEPLOYMENT);
    return (key) =>
      reconcileDeployment(key, {
        getDeployment: (ns, name) => deployments.get(ns, name),
        listReplicaSets: (ns) => sets.list(ns),
        listPods: (ns) => pods.list(ns),
        createReplicaSet: async (rs) =>
          typed<ReplicaSet>(
            await ctx.client.create(REFS.replicasets, rs.metadata?.namespace ?? "", asKube(rs)),
          ),
        updateReplicaSet: async (rs) =>
          typed<ReplicaSet>(
            await ctx.client.update(REFS.replicasets, rs.metadata?.namespace ?? "", asKube(rs)),
          ),
        deleteReplicaSet: async (rs) => {
          await ctx.client.delete(
            REFS.replicasets,
            rs.metadata?.namespace ?? "",
            rs.metadata?.name ?? "",
            { preconditions: { uid: rs.metadata?.uid ?? "" } },
          );
        },
        setReplicaSetOwners: async (rs, owners) => {
          await patchOwners(ctx.client, REFS.replicasets, rs, owners);
        },
        setDeploymentRevision: async (d, revision) => {
          await ctx.client.patch(
            REFS.deployments,
            d.metadata?.namespace ?? "",
            d.metadata?.name ?? "",
            "merge",
            { metadata: { annotations: { [REVISION]: revision } } },
          );
        },
        writeStatus: async (d, status) => {
          // A merge patch replaces `status` field by field: absent counters are cleared
          // explicitly, as kube's omitempty leaves them out.
          const patch: Record<string, unknown> = {
            observedGeneration: null,
            replicas: null,
            updatedReplicas: null,
            readyReplicas: null,
            availableReplicas: null,
            unavailableReplicas: null,
            conditions: null,
            collisionCount: null,
          };
          for (const [k, v] of Object.entries(status)) patch[k] = v === 0 ? null : v;
          await ctx.client.patch(
            sub(REFS.deployments, "status"),
            d.metadata?.namespace ?? "",
            d.metadata?.name ?? "",
            "merge",
            { status: patch },
          );
        },
        event,
        now: () => ctx.now().getTime(),
      });
  },
});
