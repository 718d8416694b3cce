/**
 * What a Service's endpoints should be, from its selected pods, as the EndpointSlice controller
 * computes them (`pkg/controller/endpointslice`, staging `k8s.io/endpointslice`):
 * - pods without an IP, or in a terminal phase (Succeeded, Failed), are left out;
 * - `serving` = pod Ready, `terminating` = deletionTimestamp set,
 *   `ready` = publishNotReadyAddresses || (serving && !terminating);
 * - `hostname` when the pod's spec.hostname is set and spec.subdomain names the Service;
 * - each Service port's targetPort is resolved per pod (a named targetPort looks up the
 *   container port of that name), so pods that resolve differently land in different groups.
 *
 * @module
 */

import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointPort, Endpoint as SliceEndpoint } from "kubernetes-types/discovery/v1.js";

export interface PortGroup {
  /** Stable key of the resolved port list. */
  key: string;
  ports: EndpointPort[];
  endpoints: SliceEndpoint[];
}

function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Resolves a Service port's targetPort against one pod; undefined when the name is not found. */
export function resolveTargetPort(
  pod: Pod,
  target: number | string | undefined,
  fallback: number,
): number | undefined {
  if (target === undefined || target === "" || target === 0) return fallback;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return undefined;
}

export function endpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const port = resolveTargetPort(pod, sp.targetPort as number | string | undefined, sp.port);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP" };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

export function portsKey(ports: EndpointPort[]): string {
  return ports
    .map((p) => `${p.name ?? ""}/${p.protocol ?? "TCP"}/${p.port ?? ""}/${p.appProtocol ?? ""}`)
    .sort()
    .join(",");
}

export function podEndpoint(service: Service, pod: Pod): SliceEndpoint | undefined {
  const ip = pod.status?.podIP;
  const phase = pod.status?.phase;
  if (!ip || phase === "Succeeded" || phase === "Failed") return undefined;
  const serving = podReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = service.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: SliceEndpoint = {
    addresses: [ip],
    conditions: { ready, serving, terminating },
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata?.namespace ?? "",
      name: pod.metadata?.name ?? "",
      uid: pod.metadata?.uid ?? "",
    },
  };
  if (pod.spec?.hostname && pod.spec.subdomain === service.metadata?.name)
    ep.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  return ep;
}

/** The desired endpoints of a Service, grouped by their resolved ports, pods in name order. */
export function desiredGroups(service: Service, pods: Pod[]): PortGroup[] {
  const groups = new Map<string, PortGroup>();
  const sorted = [...pods].sort((a, b) =>
    (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
  );
  for (const pod of sorted) {
    const ep = podEndpoint(service, pod);
    if (!ep) continue;
    const ports = endpointPorts(service, pod);
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) {
      g = { key, ports, endpoints: [] };
      groups.set(key, g);
    }
    g.endpoints.push(ep);
  }
  return [...groups.values()];
}
