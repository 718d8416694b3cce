/**
 * The scheduler: binds each pending pod of `default-scheduler` to a node through the pods/binding
 * subresource, filtering and scoring nodes as kube-scheduler's default profile does (taints,
 * node and inter-pod affinity, topology spread, resources; see _fit.ts). Pods are keyed
 * `namespace/name`; node changes re-enqueue every pod still waiting for a node, a freed place
 * too, and a newly placed pod the waiting pods with pod affinity.
 *
 * Pods it bound are counted on their node at once (kube's "assumed pods"), until the informer
 * shows the binding, so back-to-back pods spread even before the watch catches up. A node takes
 * at most `status.allocatable.pods` pods. Costs stay flat with cluster size: a pod's search looks
 * at kube's number of nodes (a few hundred at most), each node's facts are computed once per
 * change of the node, its pod count is a counter, and node changes rescan only the pods still
 * waiting (one index, once per burst).
 *
 * @module
 */
import type { Namespace, Node, Pod } from "kubernetes-types/core/v1.js";
import { REFS, sub } from "../../api/refs.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { type Candidate, type NodeLoad, nodeFacts } from "./_fit.ts";
import { controllerUid, hasPodAffinity, type PodsView, type ScheduledPod } from "./_pods.ts";
import { NO_RESOURCES, podRequests, type Resources } from "./_resources.ts";
import { reconcilePod, SCHEDULER_NAME, wantsScheduling } from "./reconcile.ts";

export { candidates, fitErrorMessage, misfit, place } from "./_fit.ts";
export { SCHEDULER_NAME } from "./reconcile.ts";

const PENDING_INDEX = "scheduler-pending";
const PENDING_AFFINITY_INDEX = "scheduler-pending-affinity";

/** What of a node can change where pods fit (heartbeat times and other status do not). */
function fitView(n: Node): string {
  const conditions = (n.status?.conditions ?? []).map((c) => [c.type, c.status]);
  return JSON.stringify([n.spec, n.metadata?.labels, conditions, n.status?.allocatable?.pods]);
}

export const startScheduler = defineController({
  name: SCHEDULER_NAME,
  // Bindings run concurrently (kube binds in goroutines): one worker awaiting each binding
  // made a 1,000-pod rollout bind one pod at a time.
  workers: 16,
  setup({ ctx, queue, watch, onStop, eventsFor }) {
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const nodes = ctx.informers.get<Node & KubeObject>(REFS.nodes);
    // Pods waiting for a node, so that a node change rescans those and not every pod.
    pods.index(PENDING_INDEX, (p) => (wantsScheduling(p) ? [""] : []));
    // Those of them that may wait for another pod to be placed (required pod affinity).
    pods.index(PENDING_AFFINITY_INDEX, (p) =>
      wantsScheduling(p) && p.spec?.affinity?.podAffinity ? [""] : [],
    );
    const namespaces = ctx.informers.get<Namespace & KubeObject>(REFS.namespaces);
    /**
     * pod key → node (and the pod's requests) for every non-terminal pod on a node, including pods
     * bound here whose binding the informer has not shown yet (kube's "assumed pods"), with a load
     * per node (pods, summed requests): checking a node is then O(1), not a walk over its pods.
     */
    const placed = new Map<string, { node: string; requests: Resources; pod: Pod }>();
    /** Keys of placed pods with pod (anti-)affinity, and placed pods by controller uid. */
    const withAffinity = new Set<string>();
    const byOwner = new Map<string, Set<string>>();
    const perNode = new Map<string, NodeLoad>();
    const loadOf = (node: string) => {
      let load = perNode.get(node);
      if (!load) {
        load = { pods: 0, requested: {} };
        perNode.set(node, load);
      }
      return load;
    };
    const count = (node: string, requests: Resources, by: 1 | -1) => {
      const load = loadOf(node);
      load.pods += by;
      for (const [k, v] of Object.entries(requests))
        load.requested[k] = (load.requested[k] ?? 0) + by * v;
    };
    const index = (key: string, pod: Pod | undefined, add: boolean) => {
      if (!pod) return;
      if (hasPodAffinity(pod)) {
        if (add) withAffinity.add(key);
        else withAffinity.delete(key);
      }
      const uid = controllerUid(pod);
      if (!uid) return;
      let keys = byOwner.get(uid);
      if (add) {
        if (!keys) {
          keys = new Set();
          byOwner.set(uid, keys);
        }
        keys.add(key);
      } else if (keys) {
        keys.delete(key);
        if (keys.size === 0) byOwner.delete(uid);
      }
    };
    const setPlaced = (key: string, node: string | undefined, pod?: Pod) => {
      const had = placed.get(key);
      if (had?.node === node) {
        // Same node: keep the newest object (labels may change what it matches).
        if (had && pod && had.pod !== pod) {
          index(key, had.pod, false);
          had.pod = pod;
          index(key, pod, true);
        }
        return;
      }
      if (had !== undefined) {
        count(had.node, had.requests, -1);
        index(key, had.pod, false);
      }
      if (node === undefined) placed.delete(key);
      else {
        const requests = had?.requests ?? (pod ? podRequests(pod) : NO_RESOURCES);
        const object = pod ?? had?.pod;
        if (!object) return;
        placed.set(key, { node, requests, pod: object });
        count(node, requests, 1);
        index(key, object, true);
        if (had === undefined) enqueueAffinityWaiting();
      }
    };
    const entries = function* (keys: Iterable<string>): Iterable<ScheduledPod> {
      for (const key of keys) {
        const e = placed.get(key);
        if (e) yield e;
      }
    };
    const podsView: PodsView = {
      all: () => placed.values(),
      withAffinity: () => entries(withAffinity),
      ownedBy: (uid) => entries(byOwner.get(uid) ?? []),
      namespaceLabels: (ns) => namespaces.get("", ns)?.metadata.labels,
    };
    const track = (p: Pod & KubeObject) => {
      const key = objectKey(p);
      const phase = p.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") {
        // A finished pod frees its place and its requests: a waiting pod may fit now.
        if (placed.has(key)) enqueueWaiting();
        setPlaced(key, undefined);
      }
      // A pod without a node keeps its assumed node until the informer shows the binding.
      else setPlaced(key, p.spec?.nodeName ?? placed.get(key)?.node, p);
    };

    // The nodes as searches see them (facts and load), rebuilt only when a node changes: each
    // pod's search walks hundreds of them. And where the next search starts.
    let nodeList: Candidate[] | undefined;
    let nextStart = 0;

    // One rescan of the waiting pods per burst of node or pod-deletion events.
    let rescan: NodeJS.Immediate | undefined;
    const enqueueWaiting = () => {
      rescan ??= setImmediate(() => {
        rescan = undefined;
        // Highest priority first, as kube's PrioritySort orders its queue (the work queue itself
        // is first in, first out).
        const waiting = pods
          .byIndex(PENDING_INDEX, "")
          .sort((a, b) => (b.spec?.priority ?? 0) - (a.spec?.priority ?? 0));
        for (const p of waiting) queue.add(objectKey(p));
      });
    };
    // Pods with required pod affinity may wait for another pod to be placed.
    let affinityRescan: NodeJS.Immediate | undefined;
    const enqueueAffinityWaiting = () => {
      if (pods.byIndex(PENDING_AFFINITY_INDEX, "").length === 0) return;
      affinityRescan ??= setImmediate(() => {
        affinityRescan = undefined;
        for (const p of pods.byIndex(PENDING_AFFINITY_INDEX, "")) queue.add(objectKey(p));
      });
    };
    watch(pods, {
      onAdd: (p) => {
        track(p);
        if (wantsScheduling(p)) queue.add(objectKey(p));
      },
      onUpdate: (_o, p) => {
        track(p);
        if (!p.spec?.nodeName && wantsScheduling(p)) queue.add(objectKey(p));
      },
      onDelete: (p) => {
        const wasPlaced = placed.has(objectKey(p));
        setPlaced(objectKey(p), undefined);
        // A freed node may now fit a waiting pod.
        if (wasPlaced) enqueueWaiting();
      },
    });
    watch(nodes, {
      onAdd: () => {
        nodeList = undefined;
        enqueueWaiting();
      },
      onUpdate: (o, n) => {
        nodeList = undefined;
        if (fitView(o) !== fitView(n)) enqueueWaiting();
      },
      onDelete: () => {
        nodeList = undefined;
      },
    });
    onStop(() => {
      if (rescan) clearImmediate(rescan);
      if (affinityRescan) clearImmediate(affinityRescan);
    });

    const event = eventsFor({ apiVersion: "v1", kind: "Pod" });
    return (key) =>
      reconcilePod(key, {
        getPod: (ns, name) => {
          const p = pods.get(ns, name);
          // Bound here already, the informer just has not caught up.
          return p && !p.spec?.nodeName && placed.has(objectKey(p)) ? undefined : p;
        },
        nodes: () => {
          nodeList ??= nodes.list().map((n) => {
            const facts = nodeFacts(n);
            return { facts, load: loadOf(facts.name) };
          });
          return nodeList;
        },
        pods: () => podsView,
        searchFrom: () => nextStart,
        searched: (examined) => {
          const total = nodeList?.length ?? 0;
          nextStart = total > 0 ? (nextStart + examined) % total : 0;
        },
        bind: async (pod, node) => {
          const ns = pod.metadata?.namespace ?? "";
          const name = pod.metadata?.name ?? "";
          const key = `${ns}/${name}`;
          // Assumed before the call, as kube's scheduler assumes a pod and then binds it
          // asynchronously: the other workers count it on its node at once.
          setPlaced(key, node, pod);
          try {
            await ctx.client.create(sub(REFS.pods, "binding"), ns, {
              apiVersion: "v1",
              kind: "Binding",
              metadata: { name, namespace: ns, uid: pod.metadata?.uid ?? "" },
              target: { apiVersion: "v1", kind: "Node", name: node },
            } as KubeObject);
          } catch (err) {
            // Forget the assumption unless the pod got a node meanwhile.
            if (!pods.get(ns, name)?.spec?.nodeName) setPlaced(key, undefined);
            throw err;
          }
          // Deleted while binding: the delete handler has already forgotten it.
          if (pods.get(ns, name)?.metadata.uid !== pod.metadata?.uid) setPlaced(key, undefined);
        },
        preempt: async (pod, node, victims) => {
          for (const victim of victims) {
            const vns = victim.metadata?.namespace ?? "";
            const vname = victim.metadata?.name ?? "";
            const conditions = (victim.status?.conditions ?? []).filter(
              (c) => c.type !== "DisruptionTarget",
            );
            conditions.push({
              type: "DisruptionTarget",
              status: "True",
              reason: "PreemptionByScheduler",
              message: `${SCHEDULER_NAME}: preempting to accommodate a higher priority pod`,
              lastTransitionTime: `${ctx.now().toISOString().slice(0, 19)}Z`,
            });
            await ctx.client.patch(sub(REFS.pods, "status"), vns, vname, "merge", {
              status: { conditions },
            });
            event(
              victim,
              "Normal",
              "Preempted",
              `Preempted by pod ${pod.metadata?.uid ?? ""} on node ${node}`,
            );
            await ctx.client.delete(REFS.pods, vns, vname, {
              preconditions: { uid: victim.metadata?.uid ?? "" },
            });
          }
        },
        setConditions: async (pod, conditions, nominatedNodeName) => {
          await ctx.client.patch(
            sub(REFS.pods, "status"),
            pod.metadata?.namespace ?? "",
            pod.metadata?.name ?? "",
            "merge",
            {
              metadata: { resourceVersion: pod.metadata?.resourceVersion },
              status: { conditions, ...(nominatedNodeName ? { nominatedNodeName } : {}) },
            },
          );
        },
        event,
        now: ctx.now,
      });
  },
});
