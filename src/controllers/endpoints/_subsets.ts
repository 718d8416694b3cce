/**
 * A Service's legacy Endpoints subsets from its selected pods, as kube's endpoints controller
 * builds them (`pkg/controller/endpoint/endpoints_controller.go`, `pkg/api/v1/endpoints`):
 * - pods without an IP or in a terminal phase are left out, and so are terminating pods unless
 *   the Service publishes not-ready addresses;
 * - a ready pod (or any, with publishNotReadyAddresses) goes to `addresses`, others to
 *   `notReadyAddresses`; each address has `nodeName`, `targetRef`, and `hostname` when the pod's
 *   subdomain names the Service;
 * - every Service port resolves its targetPort per pod (a named port may differ between pods); pods
 *   are grouped into one subset per distinct port list (kube's RepackSubsets); a headless
 *   Service without ports gets one port-less subset;
 * - at most `max` addresses in all (kube: 1000), ready ones kept first; `truncated` says so.
 *
 * @module
 */
import type {
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
  Pod,
  Service,
} from "kubernetes-types/core/v1.js";

export const MAX_ADDRESSES = 1000;

function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

function resolvePort(
  pod: Pod,
  target: number | string | undefined,
  port: number,
): number | undefined {
  if (target === undefined || target === "" || target === 0) return port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

function podPorts(service: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const port = resolvePort(pod, sp.targetPort as number | string | undefined, sp.port);
    if (port === undefined) continue;
    const ep: EndpointPort = { port, protocol: sp.protocol ?? "TCP" };
    if (sp.name) ep.name = sp.name;
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port);
}

function address(service: Service, pod: Pod, ip: string): EndpointAddress {
  const a: EndpointAddress = { ip };
  if (
    pod.spec?.hostname &&
    pod.spec.subdomain === service.metadata?.name &&
    pod.metadata?.namespace === service.metadata?.namespace
  )
    a.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = {
    kind: "Pod",
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
  return a;
}

function ipOrder(a: EndpointAddress, b: EndpointAddress): number {
  const n = (ip: string) =>
    ip
      .split(".")
      .map((x) => x.padStart(3, "0"))
      .join(".");
  return n(a.ip).localeCompare(n(b.ip));
}

export function desiredSubsets(
  service: Service,
  pods: readonly Pod[],
  max = MAX_ADDRESSES,
): { subsets: EndpointSubset[]; truncated: boolean } {
  const publish = service.spec?.publishNotReadyAddresses === true;
  const headless = service.spec?.clusterIP === "None";
  const noPorts = (service.spec?.ports ?? []).length === 0;
  if (noPorts && !headless) return { subsets: [], truncated: false };
  const groups = new Map<string, EndpointSubset>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!ip || phase === "Succeeded" || phase === "Failed") continue;
    if (pod.metadata?.deletionTimestamp && !publish) continue;
    const ports = noPorts ? [] : podPorts(service, pod);
    if (!noPorts && ports.length === 0) continue;
    const key = JSON.stringify(ports);
    let g = groups.get(key);
    if (!g) {
      g = ports.length > 0 ? { ports } : {};
      groups.set(key, g);
    }
    const list = publish || podReady(pod) ? "addresses" : "notReadyAddresses";
    g[list] = [...(g[list] ?? []), address(service, pod, ip)];
  }
  const subsets = [...groups.values()];
  for (const s of subsets) {
    s.addresses?.sort(ipOrder);
    s.notReadyAddresses?.sort(ipOrder);
  }
  subsets.sort((a, b) =>
    JSON.stringify(a.ports ?? []).localeCompare(JSON.stringify(b.ports ?? [])),
  );
  return truncate(subsets, max);
}

/** Keeps at most `max` addresses, ready ones first, in subset order. */
function truncate(
  subsets: EndpointSubset[],
  max: number,
): { subsets: EndpointSubset[]; truncated: boolean } {
  const total = subsets.reduce(
    (n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0),
    0,
  );
  if (total <= max) return { subsets, truncated: false };
  let budget = max;
  const out = subsets.map((s) => ({ ...s }));
  for (const list of ["addresses", "notReadyAddresses"] as const) {
    for (const s of out) {
      const have = s[list];
      if (!have) continue;
      const keep = have.slice(0, budget);
      budget -= keep.length;
      if (keep.length > 0) s[list] = keep;
      else delete s[list];
    }
  }
  return { subsets: out.filter((s) => s.addresses || s.notReadyAddresses), truncated: true };
}
