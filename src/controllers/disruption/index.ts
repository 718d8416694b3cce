/**
 * The disruption controller: keeps every PodDisruptionBudget's status (`reconcile.ts`). A budget
 * is reconciled when it changes, when a pod in its namespace changes, and when a ReplicaSet,
 * Deployment, StatefulSet or ReplicationController there is scaled; an eviction's
 * `disruptedPods` entry brings it back when it expires.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { type ControllerScale, reconcileBudget } from "./reconcile.ts";

export {
  budgetStatus,
  type ControllerScale,
  DELETION_TIMEOUT_MS,
  type DisruptionDeps,
  expectedCounts,
  reconcileBudget,
} from "./reconcile.ts";

export const NAME = "disruption-controller";
const PDB = { apiVersion: "policy/v1", kind: "PodDisruptionBudget" };

interface Scalable extends KubeObject {
  spec?: { replicas?: number };
}

export const startDisruptionController = defineController({
  name: NAME,
  setup({ ctx, queue, watch, eventsFor }) {
    const event = eventsFor(PDB);
    const budgets = ctx.informers.get<PodDisruptionBudget & KubeObject>(REFS.poddisruptionbudgets);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const replicaSets = ctx.informers.get<Scalable>(REFS.replicasets);
    const deployments = ctx.informers.get<Scalable>(REFS.deployments);
    const statefulSets = ctx.informers.get<Scalable>(REFS.statefulsets);
    const replicationControllers = ctx.informers.get<Scalable>(REFS.replicationcontrollers);
    const enqueueNamespace = (obj: KubeObject) => {
      for (const b of budgets.list(obj.metadata.namespace ?? "")) queue.add(objectKey(b));
    };
    watch(budgets, {
      onAdd: (b) => queue.add(objectKey(b)),
      onUpdate: (_o, b) => queue.add(objectKey(b)),
    });
    const onChange = {
      onAdd: enqueueNamespace,
      onUpdate: (_o: KubeObject, n: KubeObject) => enqueueNamespace(n),
      onDelete: enqueueNamespace,
    };
    watch(pods, onChange);
    watch(replicaSets, onChange);
    watch(deployments, onChange);
    watch(statefulSets, onChange);
    watch(replicationControllers, onChange);

    const scale = (obj: Scalable): ControllerScale => ({
      uid: obj.metadata.uid ?? "",
      replicas: obj.spec?.replicas ?? 1,
    });
    const scaleOf = (pod: Pod): ControllerScale | undefined => {
      const ref = pod.metadata?.ownerReferences?.find((r) => r.controller);
      if (!ref) return undefined;
      const ns = pod.metadata?.namespace ?? "";
      const missing = () =>
        new Error(`found no controllers for pod ${JSON.stringify(pod.metadata?.name ?? "")}`);
      if (ref.kind === "ReplicaSet" && ref.apiVersion === "apps/v1") {
        const rs = replicaSets.get(ns, ref.name);
        if (!rs || rs.metadata.uid !== ref.uid) throw missing();
        const owner = rs.metadata.ownerReferences?.find((r) => r.controller);
        if (owner?.kind === "Deployment") {
          const d = deployments.get(ns, owner.name);
          if (!d || d.metadata.uid !== owner.uid) throw missing();
          return scale(d);
        }
        return scale(rs);
      }
      if (ref.kind === "StatefulSet" && ref.apiVersion === "apps/v1") {
        const sts = statefulSets.get(ns, ref.name);
        if (!sts || sts.metadata.uid !== ref.uid) throw missing();
        return scale(sts);
      }
      if (ref.kind === "ReplicationController" && ref.apiVersion === "v1") {
        const rc = replicationControllers.get(ns, ref.name);
        if (!rc || rc.metadata.uid !== ref.uid) throw missing();
        return scale(rc);
      }
      throw missing();
    };

    return (key) =>
      reconcileBudget(key, {
        getBudget: (ns, name) => budgets.get(ns, name),
        podsIn: (ns) => pods.list(ns),
        scaleOf,
        writeStatus: async (pdb) => {
          await ctx.client.update(
            sub(REFS.poddisruptionbudgets, "status"),
            pdb.metadata?.namespace ?? "",
            asKube({ ...PDB, ...pdb }),
          );
        },
        event,
        now: () => ctx.now().getTime(),
      });
  },
});
