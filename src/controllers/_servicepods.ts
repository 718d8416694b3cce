/**
 * The event wiring every Service-keyed controller over pods shares (EndpointSlice, Endpoints):
 * a Service change enqueues the Service; a pod change enqueues every Service whose selector
 * matches the pod before or after the change. Returns the handler removers.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { matches, selectorFromSet } from "../api/labels.ts";
import { type KubeObject, objectKey } from "../api/types.ts";
import type { Informer } from "../client/informer.ts";

export function enqueueServicesOfPods(
  services: Informer<Service & KubeObject>,
  pods: Informer<Pod & KubeObject>,
  enqueue: (serviceKey: string) => void,
): Array<() => void> {
  const selecting = (pod: Pod | undefined): string[] => {
    if (!pod?.metadata) return [];
    const labels = pod.metadata.labels ?? {};
    return services
      .list(pod.metadata.namespace ?? "")
      .filter((s) => s.spec?.selector && matches(selectorFromSet(s.spec.selector), labels))
      .map((s) => objectKey(s));
  };
  const enqueuePods = (...ps: Array<Pod | undefined>) => {
    for (const p of ps) for (const k of selecting(p)) enqueue(k);
  };
  return [
    services.addHandlers({
      onAdd: (s) => enqueue(objectKey(s)),
      onUpdate: (_o, s) => enqueue(objectKey(s)),
      onDelete: (s) => enqueue(objectKey(s)),
    }),
    pods.addHandlers({
      onAdd: (p) => enqueuePods(p),
      onUpdate: (o, p) => {
        if (podEndpointsChanged(o, p)) enqueuePods(o, p);
      },
      onDelete: (p) => enqueuePods(p),
    }),
  ];
}

function ready(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Whether a pod update can change a Service's endpoints, as kube's podEndpointsChanged decides
 * (staging `k8s.io/endpointslice/util`): labels, hostname/subdomain, deletion, readiness or IPs;
 * plus the phase, which decides whether the pod is listed at all. A binding or a status write
 * that changes none of these (most of a pod's start) queues nothing, so a rollout of N pods does
 * not run N full passes over the Service's pods for each of them.
 */
export function podEndpointsChanged(old: Pod, cur: Pod): boolean {
  const ips = (p: Pod) => [p.status?.podIP ?? "", ...(p.status?.podIPs ?? []).map((i) => i.ip)];
  return (
    !isDeepStrictEqual(old.metadata?.labels ?? {}, cur.metadata?.labels ?? {}) ||
    old.spec?.hostname !== cur.spec?.hostname ||
    old.spec?.subdomain !== cur.spec?.subdomain ||
    old.metadata?.deletionTimestamp !== cur.metadata?.deletionTimestamp ||
    ready(old) !== ready(cur) ||
    old.status?.phase !== cur.status?.phase ||
    !isDeepStrictEqual(ips(old), ips(cur))
  );
}

/** The pods of a namespace a Service's (set-based) selector matches, from the informer cache. */
export function selectPods(
  pods: Informer<Pod & KubeObject>,
  namespace: string,
  selector: Record<string, string>,
): Array<Pod & KubeObject> {
  const sel = selectorFromSet(selector);
  return pods.list(namespace).filter((p) => matches(sel, p.metadata?.labels));
}
