/**
 * The HorizontalPodAutoscaler controller (`reconcile.ts`): every HPA is synced when it is added
 * or its spec changes, and again every sync period (kube's 15 s), reading its target through the
 * target's `/scale` subresource and pod usage from `ctx.resourceMetrics` (what `metrics.k8s.io`
 * serves). Recommendations and scale events are kept in memory per HPA, as kube keeps them.
 *
 * @module
 */
import type { HorizontalPodAutoscaler } from "kubernetes-types/autoscaling/v2.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, parseApiVersion } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import type { ControllerContext } from "../_context.ts";
import { defineController } from "../_define.ts";
import { type HpaMemory, newMemory } from "./_normalize.ts";
import type { PodSample } from "./_replicas.ts";
import { HPA, type HpaDeps, reconcileHpa, type TargetRef } from "./reconcile.ts";

export { HPA_DEFAULTS, resourceReplicas } from "./_replicas.ts";
export { type HpaDeps, reconcileHpa } from "./reconcile.ts";

export const NAME = "horizontal-pod-autoscaler";

/** The kinds whose `/scale` loopkube serves, by group and kind (kube maps them by REST mapping). */
const SCALABLE: Record<string, ResourceRef> = {
  "apps/Deployment": REFS.deployments,
  "apps/ReplicaSet": REFS.replicasets,
  "apps/StatefulSet": REFS.statefulsets,
  "/ReplicationController": REFS.replicationcontrollers,
};

function scaleRef(ref: TargetRef): ResourceRef {
  const { group } = parseApiVersion(ref.apiVersion ?? "");
  const found = SCALABLE[`${group}/${ref.kind}`];
  if (!found) throw new Error(`no matches for kind "${ref.kind}" in group "${group}"`);
  return sub(found, "scale");
}

/** Usage per pod of one namespace, in thousandths, from what `metrics.k8s.io` serves. */
async function samplesOf(
  collect: NonNullable<HpaOptions["collect"]>,
  namespace: string,
): Promise<Map<string, PodSample>> {
  const snapshot = await collect();
  const out = new Map<string, PodSample>();
  for (const [key, pod] of snapshot.pods) {
    const slash = key.indexOf("/");
    if (key.slice(0, slash) !== namespace) continue;
    out.set(key.slice(slash + 1), {
      timestampMs: pod.timestamp.getTime(),
      windowMs: pod.windowMs,
      containers: pod.containers.map((c) => ({
        name: c.name,
        // metrics-server's figures: CPU in nanocores, memory in bytes; the HPA works in milli.
        usage: { cpu: Math.trunc(c.cpuNanoCores / 1e6), memory: c.memoryBytes * 1000 },
      })),
    });
  }
  return out;
}

interface HpaOptions {
  collect?: NonNullable<ControllerContext["resourceMetrics"]>;
}

export const startHpaController = defineController({
  name: NAME,
  component: "horizontal-pod-autoscaler",
  setup({ ctx, queue, watch, eventsFor }) {
    const hpas = ctx.informers.get<HorizontalPodAutoscaler & KubeObject>(
      REFS.horizontalpodautoscalers,
    );
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const memories = new Map<string, HpaMemory>();
    watch(hpas, {
      onAdd: (h) => queue.add(objectKey(h)),
      // Its own status writes must not resync an HPA: only a new spec does.
      onUpdate: (o, h) => {
        if (JSON.stringify(o.spec) !== JSON.stringify(h.spec)) queue.add(objectKey(h));
      },
      onDelete: (h) => queue.add(objectKey(h)),
    });
    const event = eventsFor(HPA);
    const collect = ctx.resourceMetrics;
    const deps: HpaDeps = {
      getHpa: (ns, name) => hpas.get(ns, name),
      getScale: async (ns, ref) => ctx.client.get(scaleRef(ref), ns, ref.name),
      updateScale: async (ns, ref, scale) => {
        await ctx.client.update(scaleRef(ref), ns, asKube(scale as { metadata?: unknown }));
      },
      listPods: (ns, matches) => pods.listBySelector(ns, matches),
      podSamples: async (ns) => {
        if (!collect) {
          throw new Error(
            "the server could not find the requested resource (get pods.metrics.k8s.io)",
          );
        }
        return samplesOf(collect, ns);
      },
      writeStatus: async (hpa) => {
        await ctx.client.update(
          sub(REFS.horizontalpodautoscalers, "status"),
          hpa.metadata?.namespace ?? "",
          asKube({ ...hpa, ...HPA }),
        );
      },
      event,
      memory: (key) => {
        const known = memories.get(key);
        if (known) return known;
        const fresh = newMemory();
        memories.set(key, fresh);
        return fresh;
      },
      forget: (key) => {
        memories.delete(key);
      },
      now: () => ctx.now().getTime(),
      ...(ctx.hpa ? { options: ctx.hpa } : {}),
    };
    return (key) => reconcileHpa(key, deps);
  },
});
