/**
 * Builders for the Service and EndpointSlice objects the proxy tests feed in. Test-only.
 *
 * @module
 */
import type { Service, ServicePort } from "kubernetes-types/core/v1.js";
import type { Endpoint, EndpointSlice } from "kubernetes-types/discovery/v1.js";

export function service(
  name: string,
  spec: Service["spec"] & { ports?: ServicePort[] },
  namespace = "default",
): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name }, spec };
}

export function endpoint(
  ip: string,
  conditions: Endpoint["conditions"] = { ready: true, serving: true, terminating: false },
  nodeName = "node-a",
): Endpoint {
  return { addresses: [ip], conditions, nodeName };
}

export function slice(
  name: string,
  serviceName: string,
  ports: { name?: string; port: number; protocol?: string }[],
  endpoints: Endpoint[],
  options: { namespace?: string; addressType?: string } = {},
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      namespace: options.namespace ?? "default",
      name,
      labels: { "kubernetes.io/service-name": serviceName },
    },
    addressType: options.addressType ?? "IPv4",
    ports,
    endpoints,
  };
}
