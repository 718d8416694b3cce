/**
 * The proxy's desired state: a pure model from Services and EndpointSlices to what must be
 * served, per service port.
 *
 * Contract:
 * - A service port is identified by `namespace/name:portName` (port names are unique within a
 *   Service; the only unnamed port has the empty name).
 * - Frontends: one per IPv4 cluster IP (none for headless or ExternalName Services), one on
 *   `<nodeIP>:<nodePort>` for NodePort and LoadBalancer Services, one on the allocated loopback
 *   ingress IP for LoadBalancer Services without a `loadBalancerClass`, one per loopback
 *   `externalIPs` entry. SCTP ports get none and are reported as a problem.
 * - Endpoints come from every slice labelled `kubernetes.io/service-name=<name>` in the same
 *   namespace whose port has the same name and protocol (targetPort is already resolved there);
 *   only IPv4 slices count, as kube-proxy ignores FQDN slices and this node is IPv4 loopback. An
 *   endpoint listed twice is kept once, ready winning. Conditions follow kube-proxy's reading:
 *   ready and serving default to true when unset, terminating to false.
 * - Nothing here touches sockets or time; the allocator for ingress IPs is the only state kept
 *   beside the objects themselves.
 *
 * @module
 */
import type { Service, ServicePort } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { ipv4ToInt, isLoopbackV4, LoadBalancerIpAllocator } from "./lb-ips.ts";
import { type SourceRanges, sourceRangesOf } from "./source-ranges.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** `sessionAffinityConfig.clientIP.timeoutSeconds` default (3 hours), as in the API defaults. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export type Protocol = "TCP" | "UDP";
/** Which traffic policy governs a frontend: ClusterIP uses the internal one, the rest external. */
export type FrontendKind = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalIP";

export interface Frontend {
  ip: string;
  port: number;
  protocol: Protocol;
  kind: FrontendKind;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** The endpoint runs on this proxy's node (its `nodeName` equals ours). */
  isLocal: boolean;
}

export interface ServicePortState {
  key: string;
  serviceKey: string;
  portName: string;
  protocol: Protocol;
  frontends: Frontend[];
  /** Sorted by address then port, so two states compare with a plain walk. */
  endpoints: EndpointInfo[];
  /** Seconds of ClientIP affinity, or undefined when `sessionAffinity` is not ClientIP. */
  affinityTimeoutSeconds: number | undefined;
  internalLocal: boolean;
  externalLocal: boolean;
  /**
   * `spec.loadBalancerSourceRanges` of a LoadBalancer Service (source-ranges.ts): who may reach
   * its LoadBalancer frontends; undefined: anyone.
   */
  sourceRanges?: SourceRanges | undefined;
}

export interface Problem {
  reason: string;
  message: string;
}

export interface ServiceView {
  service: Service;
  ports: ServicePortState[];
  problems: Problem[];
  /** The loopback ingress IP given to a LoadBalancer Service, if any. */
  loadBalancerIp: string | undefined;
  /** Port of the health check kube-proxy serves (LoadBalancer with a Local external policy). */
  healthCheckNodePort: number | undefined;
  /** Distinct IPs of this node's ready endpoints, over all ports (what the health check counts). */
  localReadyEndpoints: number;
}

type ObjectRef = { metadata?: { namespace?: string; name?: string } | undefined };

export function keyOf(obj: ObjectRef): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

export function frontendKey(f: Pick<Frontend, "ip" | "port" | "protocol">): string {
  return `${f.protocol}/${f.ip}:${f.port}`;
}

export function endpointKey(e: Pick<EndpointInfo, "ip" | "port">): string {
  return `${e.ip}:${e.port}`;
}

export interface ProxyStateOptions {
  nodeName: string;
  /** The node's address, where NodePorts listen. */
  nodeIP: string;
  /** IPv4 CIDR for LoadBalancer ingress IPs; without it LoadBalancer Services get none. */
  loadBalancerCidr?: string | undefined;
  /** Addresses of that range no Service gets (the ingress controller's). */
  reservedLoadBalancerIPs?: readonly string[] | undefined;
}

export class ProxyState {
  readonly #nodeName: string;
  readonly #nodeIP: string;
  readonly #lb: LoadBalancerIpAllocator | undefined;
  readonly #services = new Map<string, Service>();
  readonly #slices = new Map<string, EndpointSlice>();
  /** serviceKey → slice keys, so a slice change touches one service. */
  readonly #slicesByService = new Map<string, Set<string>>();
  readonly #views = new Map<string, ServiceView>();

  constructor(options: ProxyStateOptions) {
    this.#nodeName = options.nodeName;
    this.#nodeIP = options.nodeIP;
    this.#lb =
      options.loadBalancerCidr === undefined
        ? undefined
        : new LoadBalancerIpAllocator(options.loadBalancerCidr, {
            reserved: options.reservedLoadBalancerIPs ?? [],
          });
  }

  /** Returns the key of the Service whose view changed. */
  upsertService(svc: Service): string {
    const key = keyOf(svc);
    this.#services.set(key, svc);
    this.#refresh(key);
    return key;
  }

  deleteService(ref: ObjectRef): string {
    const key = keyOf(ref);
    this.#services.delete(key);
    this.#lb?.release(key);
    this.#views.delete(key);
    return key;
  }

  /** Returns the keys of the Services affected (a relabelled slice touches two). */
  upsertEndpointSlice(slice: EndpointSlice): string[] {
    const sliceKey = keyOf(slice);
    const before = this.#serviceKeyOfSlice(this.#slices.get(sliceKey));
    const after = this.#serviceKeyOfSlice(slice);
    if (before !== undefined && before !== after)
      this.#slicesByService.get(before)?.delete(sliceKey);
    this.#slices.set(sliceKey, slice);
    if (after !== undefined) {
      let set = this.#slicesByService.get(after);
      if (set === undefined) {
        set = new Set();
        this.#slicesByService.set(after, set);
      }
      set.add(sliceKey);
    }
    const touched = [...new Set([before, after])].filter((k): k is string => k !== undefined);
    for (const k of touched) this.#refresh(k);
    return touched;
  }

  deleteEndpointSlice(ref: ObjectRef): string[] {
    const sliceKey = keyOf(ref);
    const svcKey = this.#serviceKeyOfSlice(this.#slices.get(sliceKey));
    this.#slices.delete(sliceKey);
    if (svcKey === undefined) return [];
    const set = this.#slicesByService.get(svcKey);
    set?.delete(sliceKey);
    if (set?.size === 0) this.#slicesByService.delete(svcKey);
    this.#refresh(svcKey);
    return [svcKey];
  }

  /** Recomputes a Service's view, e.g. to retry an ingress IP once others were released. */
  refresh(serviceKey: string): void {
    this.#refresh(serviceKey);
  }

  view(serviceKey: string): ServiceView | undefined {
    return this.#views.get(serviceKey);
  }

  views(): IterableIterator<ServiceView> {
    return this.#views.values();
  }

  #serviceKeyOfSlice(slice: EndpointSlice | undefined): string | undefined {
    const name = slice?.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (slice === undefined || name === undefined || name === "") return undefined;
    return `${slice.metadata?.namespace ?? ""}/${name}`;
  }

  #refresh(key: string): void {
    const svc = this.#services.get(key);
    if (svc === undefined) {
      this.#views.delete(key);
      return;
    }
    const slices: EndpointSlice[] = [];
    for (const sk of this.#slicesByService.get(key) ?? []) {
      const s = this.#slices.get(sk);
      if (s !== undefined) slices.push(s);
    }
    this.#views.set(key, this.#compute(key, svc, slices));
  }

  #compute(key: string, svc: Service, slices: EndpointSlice[]): ServiceView {
    const spec = svc.spec ?? {};
    const problems: Problem[] = [];
    const type = spec.type ?? "ClusterIP";
    let loadBalancerIp: string | undefined;
    if (type === "LoadBalancer" && !spec.loadBalancerClass && this.#lb !== undefined) {
      const prefer = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
      if (spec.loadBalancerIP) prefer.push(spec.loadBalancerIP);
      loadBalancerIp = this.#lb.allocate(key, { prefer });
      if (loadBalancerIp === undefined) {
        problems.push({
          reason: "LoadBalancerIPExhausted",
          message: "no free IP is left in the load balancer range",
        });
      }
    } else {
      this.#lb?.release(key);
    }
    const healthCheckNodePort =
      type === "LoadBalancer" && spec.externalTrafficPolicy === "Local" && spec.healthCheckNodePort
        ? spec.healthCheckNodePort
        : undefined;
    const base = { service: svc, problems, loadBalancerIp, healthCheckNodePort };
    if (type === "ExternalName") return { ...base, ports: [], localReadyEndpoints: 0 };

    const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter(
      (ip) => ipv4ToInt(ip) !== undefined,
    );
    const externalIPs: string[] = [];
    for (const ip of spec.externalIPs ?? []) {
      if (isLoopbackV4(ip)) externalIPs.push(ip);
      else {
        problems.push({
          reason: "ExternalIPNotServed",
          message: `externalIP ${ip} is not a loopback address and is not served on this node`,
        });
      }
    }
    const hasNodePorts = type === "NodePort" || type === "LoadBalancer";
    const affinityTimeoutSeconds =
      spec.sessionAffinity === "ClientIP"
        ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS)
        : undefined;

    const sourceRanges =
      type === "LoadBalancer"
        ? sourceRangesOf(spec.loadBalancerSourceRanges, this.#nodeIP)
        : undefined;
    const ports: ServicePortState[] = [];
    for (const port of spec.ports ?? []) {
      const protocol = port.protocol ?? "TCP";
      const portName = port.name ?? "";
      if (protocol !== "TCP" && protocol !== "UDP") {
        problems.push({
          reason: "UnsupportedProtocol",
          message: `port ${portName || port.port}/${protocol}: only TCP and UDP are proxied`,
        });
        continue;
      }
      const frontends: Frontend[] = clusterIPs.map((ip) => ({
        ip,
        port: port.port,
        protocol,
        kind: "ClusterIP",
      }));
      if (hasNodePorts && port.nodePort) {
        frontends.push({ ip: this.#nodeIP, port: port.nodePort, protocol, kind: "NodePort" });
      }
      if (loadBalancerIp !== undefined) {
        frontends.push({ ip: loadBalancerIp, port: port.port, protocol, kind: "LoadBalancer" });
      }
      for (const ip of externalIPs) {
        frontends.push({ ip, port: port.port, protocol, kind: "ExternalIP" });
      }
      ports.push({
        key: `${key}:${portName}`,
        serviceKey: key,
        portName,
        protocol,
        frontends,
        endpoints: this.#endpointsFor(port, protocol, slices),
        affinityTimeoutSeconds,
        internalLocal: spec.internalTrafficPolicy === "Local",
        externalLocal: spec.externalTrafficPolicy === "Local",
        ...(sourceRanges === undefined ? {} : { sourceRanges }),
      });
    }
    const local = new Set<string>();
    for (const p of ports) for (const e of p.endpoints) if (e.isLocal && e.ready) local.add(e.ip);
    return { ...base, ports, localReadyEndpoints: local.size };
  }

  #endpointsFor(port: ServicePort, protocol: Protocol, slices: EndpointSlice[]): EndpointInfo[] {
    const byKey = new Map<string, EndpointInfo>();
    const name = port.name ?? "";
    for (const slice of slices) {
      if (slice.addressType !== "IPv4") continue;
      const sp = (slice.ports ?? []).find(
        (p) => (p.name ?? "") === name && (p.protocol ?? "TCP") === protocol,
      );
      if (sp?.port === undefined) continue;
      for (const ep of slice.endpoints ?? []) {
        // kube-proxy uses the first address only: the others are for the same backend.
        const ip = ep.addresses[0];
        if (ip === undefined || ipv4ToInt(ip) === undefined) continue;
        const info: EndpointInfo = {
          ip,
          port: sp.port,
          ready: ep.conditions?.ready ?? true,
          serving: ep.conditions?.serving ?? true,
          terminating: ep.conditions?.terminating ?? false,
          isLocal: ep.nodeName === this.#nodeName,
        };
        const k = endpointKey(info);
        const seen = byKey.get(k);
        if (seen === undefined || (!seen.ready && info.ready)) byKey.set(k, info);
      }
    }
    return [...byKey.values()].sort(
      (a, b) => (ipv4ToInt(a.ip) ?? 0) - (ipv4ToInt(b.ip) ?? 0) || a.port - b.port,
    );
  }
}
