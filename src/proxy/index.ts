/**
 * The service proxy (kube-proxy's job): listeners on every ClusterIP:port, NodePort
 * (`<nodeIP>:<nodePort>`) and LoadBalancer ingress IP, load-balancing connections over the
 * Service's endpoints the way kube-proxy chooses them.
 *
 * It is fed plain Service and EndpointSlice objects (from informers in the cluster); it never
 * reads the API itself. LoadBalancer Services get a loopback ingress IP from `loadBalancerCidr`;
 * the caller writes it to `status.loadBalancer.ingress` (see `onLoadBalancerIngress`). Local
 * LoadBalancer Services also get kube-proxy's health check on `<nodeIP>:<healthCheckNodePort>`.
 * Both addresses come from the cluster's address plan (`src/api/addressplan.ts`).
 *
 * File descriptors: each proxied TCP connection holds two, each UDP flow one. Node already
 * raises the soft RLIMIT_NOFILE to the hard limit at startup; the hard limit is the ceiling
 * (see `fd-limit.ts`; `readFdLimits()` tells the caller what it runs with).
 *
 * @module
 */
import type { Socket } from "node:net";
import type { LoadBalancerIngress, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { DEFAULT_PLAN } from "../api/addressplan.ts";
import { type ListenerStatus, Proxier, type ProxierOptions } from "./proxier.ts";
import type { TrafficCounter } from "./traffic.ts";

export { type FdLimits, readFdLimits } from "./fd-limit.ts";
export {
  type InformerIngress,
  IngressController,
  type IngressControllerOptions,
  type IngressEventType,
  type IngressListener,
  LOOPKUBE_INGRESS_CLASS,
  LOOPKUBE_INGRESS_CONTROLLER,
  type PemPair,
  startInformerIngress,
} from "./ingress/index.ts";
export { type KernelProxy, type KernelProxyOptions, startKernelProxy } from "./kernel.ts";
export { ingressAddress } from "./lb-ips.ts";
export type { EventSink, EventType, ListenerStatus } from "./proxier.ts";
export type { Frontend, FrontendKind, Protocol } from "./state.ts";
export type { EndpointDialer } from "./tcp.ts";
export { type TrafficCounter, type TrafficRow, WINDOW_S as TRAFFIC_WINDOW_S } from "./traffic.ts";
export type { UdpDialer } from "./udp.ts";

export interface ServiceProxyOptions extends Omit<ProxierOptions, "loadBalancerCidr" | "nodeIP"> {
  /** IPv4 CIDR for LoadBalancer ingress IPs (default: the address plan's); null disables them. */
  loadBalancerCidr?: string | null;
  /** Where NodePorts and health checks listen (default: the address plan's node IP). */
  nodeIP?: string;
}

type ObjectRef = { metadata?: { namespace?: string; name?: string } | undefined };

export interface ServiceProxy {
  upsertService(svc: Service): void;
  deleteService(ref: ObjectRef): void;
  upsertEndpointSlice(slice: EndpointSlice): void;
  deleteEndpointSlice(ref: ObjectRef): void;
  /** `status.loadBalancer.ingress` for a Service (`[]` when it has no ingress IP here). */
  loadBalancerIngressFor(svc: ObjectRef | string): LoadBalancerIngress[];
  listeners(): ListenerStatus[];
  /** Connections sent to each endpoint over the last minute, per Service port. */
  readonly traffic: TrafficCounter;
  /** Resolves once listeners being opened or closed have finished (bound or failed). */
  settled(): Promise<void>;
  /** Closes every listener and every proxied connection. */
  close(): Promise<void>;
  /** Proxies a TCP connection accepted elsewhere for a frontend's ip:port (see Proxier). */
  accept(ip: string, port: number, client: Socket): boolean;
}

export function createServiceProxy(options: ServiceProxyOptions): ServiceProxy {
  const range =
    options.loadBalancerCidr === null
      ? undefined
      : (options.loadBalancerCidr ?? DEFAULT_PLAN.loadBalancerCidr);
  return new Proxier({
    ...options,
    loadBalancerCidr: range,
    nodeIP: options.nodeIP ?? DEFAULT_PLAN.nodeIP,
  });
}
