/**
 * Feeding the service proxy from shared informers (services and endpointslices), and writing the
 * loopback ingress IP it gives a LoadBalancer Service into `services/status`, as a cloud
 * controller would.
 *
 * Contract: handlers are registered at once (cached objects arrive as adds). A status write that
 * fails (the Service was deleted meanwhile, a conflict) is reported through `onError` and not
 * retried here: the proxy calls `onLoadBalancerIngress` again whenever the Service changes.
 * `skip(svc)` keeps a Service out of the proxy (the cluster uses it for kube-dns when the DNS
 * server itself listens on the Service's address).
 *
 * @module
 */
import type { LoadBalancerIngress, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import { createServiceProxy, type ServiceProxy, type ServiceProxyOptions } from "./index.ts";

const SERVICES = { group: "", version: "v1", resource: "services" };
const SERVICE_STATUS = { ...SERVICES, subresource: "status" };
const SLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };

export interface InformerProxyOptions extends Omit<ServiceProxyOptions, "onLoadBalancerIngress"> {
  skip?: (svc: Service) => boolean;
  onError?: (err: unknown) => void;
}

export interface InformerProxy {
  proxy: ServiceProxy;
  /** Removes the handlers and closes every listener. */
  stop(): Promise<void>;
}

export function startInformerProxy(
  client: ApiVerbs,
  informers: InformerFactory,
  options: InformerProxyOptions,
): InformerProxy {
  const { skip, onError, ...proxyOptions } = options;
  const report = onError ?? (() => {});
  const writeIngress = (svc: Service, ingress: LoadBalancerIngress[]) => {
    const ns = svc.metadata?.namespace ?? "default";
    const name = svc.metadata?.name ?? "";
    client
      .patch(SERVICE_STATUS, ns, name, "merge", { status: { loadBalancer: { ingress } } })
      .catch(report);
  };
  const proxy = createServiceProxy({ ...proxyOptions, onLoadBalancerIngress: writeIngress });
  const removeServices = informers.get<KubeObject>(SERVICES).addHandlers({
    onAdd: (o) => upsert(o as Service),
    onUpdate: (_old, o) => upsert(o as Service),
    onDelete: (o) => proxy.deleteService(o as Service),
  });
  function upsert(svc: Service): void {
    if (skip?.(svc)) proxy.deleteService(svc);
    else proxy.upsertService(svc);
  }
  const removeSlices = informers.get<KubeObject>(SLICES).addHandlers({
    onAdd: (o) => proxy.upsertEndpointSlice(o as unknown as EndpointSlice),
    onUpdate: (_old, o) => proxy.upsertEndpointSlice(o as unknown as EndpointSlice),
    onDelete: (o) => proxy.deleteEndpointSlice(o as unknown as EndpointSlice),
  });
  return {
    proxy,
    async stop() {
      removeServices();
      removeSlices();
      await proxy.close();
    },
  };
}
