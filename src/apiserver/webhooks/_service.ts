/**
 * How the API server reaches a Service it calls itself (admission and conversion webhooks,
 * aggregated API servers): the Service's port, then the first address of its Endpoints with that
 * port (named as the service port names it), else the Service's ClusterIP, which the service
 * proxy serves. A failure says why in the words Go's dialer would use after the request line.
 *
 * @module
 */
import type { Store } from "../../store/types.ts";
import { findResource, storeKey } from "../resources.ts";

const SERVICES = findResource("", "services")!;
const ENDPOINTS = findResource("", "endpoints")!;

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
}

interface ServicePort {
  name?: string;
  port: number;
}
interface Subset {
  addresses?: Array<{ ip: string }>;
  ports?: Array<{ name?: string; port: number }>;
}

/** Where to connect for a Service reference; throws an Error saying why it cannot be reached. */
export function resolveService(store: Store, ref: ServiceRef): { host: string; port: number } {
  const service = store.get(storeKey(SERVICES, ref.namespace, ref.name));
  if (!service) throw new Error(`service "${ref.name}" not found`);
  const ports = (service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? [];
  const sp = ports.find((p) => p.port === ref.port);
  if (!sp) throw new Error(`no service port ${ref.port} found for service "${ref.name}"`);
  const endpoints = store.get(storeKey(ENDPOINTS, ref.namespace, ref.name));
  for (const subset of (endpoints as { subsets?: Subset[] } | undefined)?.subsets ?? []) {
    const ep = (subset.ports ?? []).find((p) => (sp.name ? p.name === sp.name : true));
    const ip = subset.addresses?.[0]?.ip;
    if (ep && ip) return { host: ip, port: ep.port };
  }
  const clusterIP = (service.spec as { clusterIP?: string } | undefined)?.clusterIP;
  if (clusterIP && clusterIP !== "None") return { host: clusterIP, port: ref.port };
  throw new Error(`no endpoints available for service "${ref.name}"`);
}
