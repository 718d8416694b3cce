/**
 * The service proxy (kube-proxy's job): listeners on every ClusterIP:port, NodePort
 * (`127.0.0.1:<nodePort>`) and LoadBalancer ingress IP, load-balancing connections over the
 * Service's endpoints the way kube-proxy chooses them.
 *
 * It is fed plain Service and EndpointSlice objects (from informers in the cluster); it never
 * reads the API itself. LoadBalancer Services get a loopback ingress IP from `loadBalancerRange`;
 * the caller writes it to `status.loadBalancer.ingress` (see `onLoadBalancerIngress`). Local
 * LoadBalancer Services also get kube-proxy's health check on `127.0.0.1:<healthCheckNodePort>`.
 *
 * File descriptors: each proxied TCP connection holds two, each UDP flow one. Node already
 * raises the soft RLIMIT_NOFILE to the hard limit at startup; the hard limit is the ceiling
 * (see `fd-limit.ts`; `readFdLimits()` tells the caller what it runs with).
 *
 * @module
 */
import type { LoadBalancerIngress, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { type ListenerStatus, Proxier, type ProxierOptions } from "./proxier.ts";

export { type FdLimits, readFdLimits } from "./fd-limit.ts";
export type { EventSink, EventType, ListenerStatus } from "./proxier.ts";
export type { Frontend, FrontendKind, Protocol } from "./state.ts";

export const DEFAULT_LOAD_BALANCER_RANGE = "127.100.0.0/24";

export interface ServiceProxyOptions extends Omit<ProxierOptions, "loadBalancerRange"> {
  /** IPv4 CIDR for LoadBalancer ingress IPs (default 127.100.0.0/24); null disables them. */
  loadBalancerRange?: string | null;
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
  /** Resolves once listeners being opened or closed have finished (bound or failed). */
  settled(): Promise<void>;
  /** Closes every listener and every proxied connection. */
  close(): Promise<void>;
}

export function createServiceProxy(options: ServiceProxyOptions): ServiceProxy {
  const range =
    options.loadBalancerRange === null
      ? undefined
      : (options.loadBalancerRange ?? DEFAULT_LOAD_BALANCER_RANGE);
  return new Proxier({ ...options, loadBalancerRange: range });
}
