/**
 * The node lifecycle controller (kube-controller-manager's `node-lifecycle-controller` with its
 * taint-eviction part): watches Nodes, their Leases in `kube-node-lease` and the pods bound to
 * them. A node whose heartbeat stops for the grace period gets Unknown conditions and its pods
 * are marked not Ready; condition and cordon taints follow the node (`health.ts`); pods that do
 * not tolerate a NoExecute taint are evicted, those that do once their `tolerationSeconds` pass
 * (`eviction.ts`), with kube's DisruptionTarget condition and `TaintManagerEviction` event. The
 * clock is the context's (`ctx.now`), so tests drive it.
 *
 * @module
 */
import type { Lease } from "kubernetes-types/coordination/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { evictionTime } from "./eviction.ts";
import {
  heartbeat,
  mayEvict,
  NODE_MONITOR_GRACE_MS,
  type Observed,
  observe,
  overdueConditions,
  readyStatus,
  wantedTaints,
} from "./health.ts";

export { evictionTime } from "./eviction.ts";
export * from "./health.ts";

export const NAME = "node-lifecycle-controller";
const LEASE_NAMESPACE = "kube-node-lease";
const BY_NODE = "by-node-name";
const POD = { apiVersion: "v1", kind: "Pod" };

const stampOf = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export interface NodeLifecycleOptions {
  /** `--node-monitor-grace-period`; default 50 s. */
  graceMs?: number;
}

export const startNodeLifecycleController = defineController<NodeLifecycleOptions>({
  name: NAME,
  setup({ ctx, queue, watch, eventsFor }, options) {
    const graceMs = options.graceMs ?? NODE_MONITOR_GRACE_MS;
    const nodes = ctx.informers.get<Node & KubeObject>(REFS.nodes);
    const leases = ctx.informers.get<Lease & KubeObject>(REFS.leases);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    pods.index(BY_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    const podEvent = eventsFor(POD);
    const observed = new Map<string, Observed>();
    const all = () => {
      for (const n of nodes.list("")) queue.add(n.metadata.name ?? "");
    };
    // A node's change can change its zone's disruption state: every node is looked at again.
    watch(nodes, { onAdd: all, onUpdate: all, onDelete: all });
    watch(leases, {
      onAdd: (l) => queue.add(l.metadata.name ?? ""),
      onUpdate: (_o, l) => queue.add(l.metadata.name ?? ""),
    });
    const onPod = (p: Pod) => {
      if (p.spec?.nodeName) queue.add(p.spec.nodeName);
    };
    watch(pods, { onAdd: onPod, onUpdate: (_o, p) => onPod(p) });

    const markPodsNotReady = async (name: string, stamp: string) => {
      for (const p of pods.byIndex(BY_NODE, name)) {
        const ready = p.status?.conditions?.find((c) => c.type === "Ready");
        if (!ready || ready.status === "False" || p.metadata.deletionTimestamp) continue;
        await ctx.client
          .patch(
            sub(REFS.pods, "status"),
            p.metadata.namespace ?? "",
            p.metadata.name ?? "",
            "strategic",
            {
              status: {
                conditions: [{ type: "Ready", status: "False", lastTransitionTime: stamp }],
              },
            },
          )
          .catch((e: unknown) => {
            if (!isStatusError(e, "NotFound")) throw e;
          });
      }
    };

    const evict = async (p: Pod & KubeObject, stamp: string) => {
      const ns = p.metadata.namespace ?? "";
      const name = p.metadata.name ?? "";
      podEvent(p, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${ns}/${name}`);
      try {
        await ctx.client.patch(sub(REFS.pods, "status"), ns, name, "strategic", {
          status: {
            conditions: [
              {
                type: "DisruptionTarget",
                status: "True",
                reason: "DeletionByTaintManager",
                message: "Taint manager: deleting due to NoExecute taint",
                lastTransitionTime: stamp,
              },
            ],
          },
        });
        await ctx.client.delete(REFS.pods, ns, name, {
          preconditions: { uid: p.metadata.uid ?? "" },
        });
      } catch (e) {
        if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
      }
    };

    return async (name) => {
      const node = nodes.get("", name);
      if (!node) {
        observed.delete(name);
        return;
      }
      const now = ctx.now();
      const ms = now.getTime();
      const stamp = stampOf(now);
      const seen = observe(
        observed.get(name),
        heartbeat(node, leases.get(LEASE_NAMESPACE, name)),
        ms,
      );
      observed.set(name, seen);
      const conditions = overdueConditions(node, seen, ms, stamp, graceMs);
      if (conditions) {
        await ctx.client.patch(sub(REFS.nodes, "status"), "", name, "merge", {
          status: { conditions },
        });
        await markPodsNotReady(name, stamp);
        return; // the informer brings the node back with its new conditions
      }
      const taints = wantedTaints(node, mayEvict(node, nodes.list("")), stamp);
      if (taints) {
        await ctx.client.patch(REFS.nodes, "", name, "merge", {
          metadata: { resourceVersion: node.metadata.resourceVersion },
          spec: { taints },
        });
        return;
      }
      let next = readyStatus(node) === "Unknown" ? Number.POSITIVE_INFINITY : seen.at + graceMs;
      for (const p of pods.byIndex(BY_NODE, name)) {
        if (p.metadata.deletionTimestamp) continue;
        const phase = p.status?.phase;
        if (phase === "Succeeded" || phase === "Failed") continue;
        const at = evictionTime(p, node.spec?.taints ?? [], ms);
        if (at === undefined) continue;
        if (at <= ms) await evict(p, stamp);
        else next = Math.min(next, at);
      }
      return Number.isFinite(next) ? { requeueAfter: Math.max(0, next - ms) + 1 } : undefined;
    };
  },
});
