/**
 * The scheduler: binds each pending pod of `default-scheduler` to a node through the pods/binding
 * subresource, spreading pods over the fitting nodes by fewest pods. Pods are keyed
 * `namespace/name`; node changes re-enqueue every pod still waiting for a node.
 *
 * Pods it bound are counted on their node at once (kube's "assumed pods"), until the informer
 * shows the binding, so back-to-back pods spread even before the watch catches up.
 *
 * @module
 */
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey } from "../../api/types.ts";
import { createEventRecorder } from "../../client/events.ts";
import { runController } from "../../client/runner.ts";
import { createWorkQueue } from "../../client/workqueue.ts";
import type { ControllerContext, StartedController } from "../_context.ts";
import { reconcilePod, SCHEDULER_NAME, wantsScheduling } from "./reconcile.ts";

export { fitErrorMessage, misfit, place } from "./_fit.ts";
export { SCHEDULER_NAME } from "./reconcile.ts";

const POD_BY_NODE = "scheduler-by-node";

export function startScheduler(ctx: ControllerContext): StartedController {
  const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
  const nodes = ctx.informers.get<Node & KubeObject>(REFS.nodes);
  pods.index(POD_BY_NODE, (p) => {
    const phase = p.status?.phase;
    if (!p.spec?.nodeName || phase === "Succeeded" || phase === "Failed") return [];
    return [p.spec.nodeName];
  });
  const queue = createWorkQueue<string>();
  const recorder = createEventRecorder(ctx.client, { component: SCHEDULER_NAME });
  /** pod key → node, for pods bound here whose binding the informer has not shown yet. */
  const assumed = new Map<string, string>();

  const enqueueWaiting = () => {
    for (const p of pods.list()) if (wantsScheduling(p)) queue.add(objectKey(p));
  };
  const removers = [
    pods.addHandlers({
      onAdd: (p) => {
        if (wantsScheduling(p)) queue.add(objectKey(p));
      },
      onUpdate: (_o, p) => {
        if (p.spec?.nodeName) assumed.delete(objectKey(p));
        else if (wantsScheduling(p)) queue.add(objectKey(p));
      },
      onDelete: (p) => {
        assumed.delete(objectKey(p));
        // A freed node may now fit a waiting pod.
        if (p.spec?.nodeName) enqueueWaiting();
      },
    }),
    nodes.addHandlers({
      onAdd: enqueueWaiting,
      onUpdate: (o, n) => {
        if (
          JSON.stringify([o.spec, o.metadata.labels, o.status?.conditions]) !==
          JSON.stringify([n.spec, n.metadata.labels, n.status?.conditions])
        )
          enqueueWaiting();
      },
    }),
  ];

  const running = runController({
    name: SCHEDULER_NAME,
    queue,
    ...(ctx.onError ? { onError: ctx.onError } : {}),
    reconcile: (key) =>
      reconcilePod(key, {
        getPod: (ns, name) => {
          const p = pods.get(ns, name);
          // Bound here already, the informer just has not caught up.
          return p && assumed.has(objectKey(p)) ? undefined : p;
        },
        nodes: () => nodes.list(),
        podCount: (node) =>
          pods.byIndex(POD_BY_NODE, node).length +
          [...assumed.values()].filter((n) => n === node).length,
        bind: async (pod, node) => {
          const ns = pod.metadata?.namespace ?? "";
          const name = pod.metadata?.name ?? "";
          await ctx.client.create(sub(REFS.pods, "binding"), ns, {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name, namespace: ns, uid: pod.metadata?.uid ?? "" },
            target: { apiVersion: "v1", kind: "Node", name: node },
          } as KubeObject);
          // The watch may have shown the binding before this call returned.
          if (!pods.get(ns, name)?.spec?.nodeName) assumed.set(`${ns}/${name}`, node);
        },
        setConditions: async (pod, conditions) => {
          await ctx.client.patch(
            sub(REFS.pods, "status"),
            pod.metadata?.namespace ?? "",
            pod.metadata?.name ?? "",
            "merge",
            {
              metadata: { resourceVersion: pod.metadata?.resourceVersion },
              status: { conditions },
            },
          );
        },
        event: (pod, type, reason, message) =>
          recorder.event(asKube({ apiVersion: "v1", kind: "Pod", ...pod }), type, reason, message),
        now: ctx.now,
      }),
  });

  return {
    name: SCHEDULER_NAME,
    async stop() {
      for (const r of removers) r();
      queue.shutDown();
      await running.done;
      await recorder.flush();
    },
  };
}
