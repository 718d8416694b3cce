/**
 * The event wiring every Service-keyed controller over pods shares (EndpointSlice, Endpoints):
 * a Service change enqueues the Service; a pod change enqueues every Service whose selector
 * matches the pod before or after the change. Returns the handler removers.
 *
 * Both directions go through informer indexes keyed by one `namespace, label=value` pair, so
 * their cost follows the pods and Services actually involved, not the size of the namespace: a
 * pod event looks up the Services whose selector names one of its labels (then checks the whole
 * selector), and `selectPods` starts from the pods carrying the selector's first pair. A
 * namespace of 1,500 pods and 100 Services otherwise turned every pod event into 100 selector
 * checks and every Service sync into 1,500.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { matches, selectorFromSet } from "../api/labels.ts";
import { type KubeObject, objectKey } from "../api/types.ts";
import type { Informer } from "../client/informer.ts";

const SERVICE_BY_SELECTOR = "services-by-selector-pair";
const POD_BY_LABEL = "pods-by-label-pair";
/** A Service with an empty selector `{}` selects every pod of its namespace. */
const ANY = "\u0000*";

const pair = (ns: string, k: string, v: string) => `${ns}\u0000${k}=${v}`;

/** Module-level, so that both controllers register the very same function (a no-op twice). */
function serviceSelectorPairs(s: Service & KubeObject): string[] {
  const sel = s.spec?.selector;
  if (!sel) return [];
  const ns = s.metadata.namespace ?? "";
  const keys = Object.keys(sel);
  return keys.length === 0 ? [`${ns}${ANY}`] : keys.map((k) => pair(ns, k, sel[k] ?? ""));
}

function podLabelPairs(p: Pod & KubeObject): string[] {
  const ns = p.metadata.namespace ?? "";
  return Object.entries(p.metadata.labels ?? {}).map(([k, v]) => pair(ns, k, v));
}

export function enqueueServicesOfPods(
  services: Informer<Service & KubeObject>,
  pods: Informer<Pod & KubeObject>,
  enqueue: (serviceKey: string) => void,
): Array<() => void> {
  services.index(SERVICE_BY_SELECTOR, serviceSelectorPairs);
  const selecting = (pod: Pod | undefined): Set<string> => {
    const out = new Set<string>();
    if (!pod?.metadata) return out;
    const ns = pod.metadata.namespace ?? "";
    const labels = pod.metadata.labels ?? {};
    const candidates = [
      ...services.byIndex(SERVICE_BY_SELECTOR, `${ns}${ANY}`),
      ...Object.entries(labels).flatMap(([k, v]) =>
        services.byIndex(SERVICE_BY_SELECTOR, pair(ns, k, v)),
      ),
    ];
    for (const s of candidates) {
      const key = objectKey(s);
      if (!out.has(key) && s.spec?.selector && matches(selectorFromSet(s.spec.selector), labels))
        out.add(key);
    }
    return out;
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
  pods.index(POD_BY_LABEL, podLabelPairs);
  const sel = selectorFromSet(selector);
  const first = Object.entries(selector)[0];
  const candidates = first
    ? pods.byIndex(POD_BY_LABEL, pair(namespace, first[0], first[1]))
    : pods.list(namespace);
  return candidates.filter((p) => matches(sel, p.metadata?.labels));
}
