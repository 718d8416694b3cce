/**
 * The Services every cluster has from its first second, as kube-apiserver and kubeadm create them:
 * `default/kubernetes` (→ the API server) and `kube-system/kube-dns` (→ the DNS server). Neither
 * has a selector, so their EndpointSlice and Endpoints are written here, pointing at the
 * addresses this process listens on.
 *
 * Contract: idempotent. Every start re-applies them (server-side apply, field manager
 * `loopkube`, forced), so a new API or DNS port after a restart is reflected while the Service
 * IPs, fixed here, never change. Returns the two Services as stored, so that the proxy can
 * open their listeners before the informers deliver them.
 *
 * @module
 */

import { isStatusError } from "../api/errors.ts";
import { DEFAULT_INGRESS_CLASS_ANNOTATION } from "../api/kinds/index.ts";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";

export const FIELD_MANAGER = "loopkube";
const MANAGED_BY = "loopkube.io";

export interface BootstrapAddresses {
  kubernetesServiceIP: string;
  dnsServiceIP: string;
  api: { host: string; port: number };
  dns: { host: string; port: number };
}

interface PortSpec {
  name: string;
  protocol: "TCP" | "UDP";
  port: number;
  targetPort: number;
}

export async function ensureBootstrapServices(
  client: ApiVerbs,
  addresses: BootstrapAddresses,
): Promise<KubeObject[]> {
  const kubernetes = await ensureService(client, {
    namespace: "default",
    name: "kubernetes",
    ip: addresses.kubernetesServiceIP,
    labels: { component: "apiserver", provider: "kubernetes" },
    host: addresses.api.host,
    ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: addresses.api.port }],
  });
  const kubeDns = await ensureService(client, {
    namespace: "kube-system",
    name: "kube-dns",
    ip: addresses.dnsServiceIP,
    labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS" },
    host: addresses.dns.host,
    ports: [
      { name: "dns", protocol: "UDP", port: 53, targetPort: addresses.dns.port },
      { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: addresses.dns.port },
    ],
  });
  return [kubernetes, kubeDns];
}

async function ensureService(
  client: ApiVerbs,
  s: {
    namespace: string;
    name: string;
    ip: string;
    labels: Record<string, string>;
    host: string;
    ports: PortSpec[];
  },
): Promise<KubeObject> {
  const apply = (ref: ResourceRef, obj: KubeObject) =>
    client.patch(ref, s.namespace, s.name, "apply", obj, {
      fieldManager: FIELD_MANAGER,
      force: true,
    });
  const metadata = { name: s.name, namespace: s.namespace, labels: s.labels };
  const service = await apply(REFS.services, {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      type: "ClusterIP",
      clusterIP: s.ip,
      clusterIPs: [s.ip],
      sessionAffinity: "None",
      ports: s.ports.map((p) => ({ ...p })),
    },
  });
  await apply(REFS.endpointslices, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      ...metadata,
      labels: {
        ...s.labels,
        "kubernetes.io/service-name": s.name,
        "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
      },
    },
    addressType: "IPv4",
    endpoints: [
      { addresses: [s.host], conditions: { ready: true, serving: true, terminating: false } },
    ],
    ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.targetPort })),
  });
  await apply(REFS.endpoints, {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata,
    subsets: [
      {
        addresses: [{ ip: s.host }],
        ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.targetPort })),
      },
    ],
  });
  return service;
}

/**
 * loopkube's IngressClass (`loopkube`, controller `loopkube.dev/ingress`), marked default as k3s
 * marks its Traefik class, so Ingresses without a class are served. Created when absent only: a
 * user who removes the default mark or edits it keeps the change across restarts.
 */
export async function ensureIngressClass(
  client: ApiVerbs,
  names: { className: string; controller: string },
): Promise<void> {
  try {
    await client.get(REFS.ingressclasses, "", names.className);
  } catch (err) {
    if (!isStatusError(err, "NotFound")) throw err;
    await client
      .create(REFS.ingressclasses, "", {
        apiVersion: "networking.k8s.io/v1",
        kind: "IngressClass",
        metadata: {
          name: names.className,
          labels: { "app.kubernetes.io/managed-by": MANAGED_BY },
          annotations: { [DEFAULT_INGRESS_CLASS_ANNOTATION]: "true" },
        },
        spec: { controller: names.controller },
      } as KubeObject)
      .catch((e: unknown) => {
        if (!isStatusError(e, "AlreadyExists")) throw e;
      });
  }
}
