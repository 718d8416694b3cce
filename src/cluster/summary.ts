/**
 * The at-a-glance table `loopkube up -f` prints once workloads are ready: each Service, its type
 * and ClusterIP (`None` when headless), its DNS names (for headless Services also each endpoint's
 * own name: `<hostname>.<svc>.<ns>.svc.<zone>` when the pod has a hostname, as StatefulSet pods
 * do, else `<dashed-ip>.<svc>…` as CoreDNS answers), and the endpoints behind it (pod, IP,
 * ready); then the kubectl and dig commands to try. Also the address ranges a cluster holds, as
 * `up` and `status` print them.
 *
 * @module
 */
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { AddressRanges } from "../api/addressplan.ts";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";

export interface ServiceRow {
  namespace: string;
  name: string;
  type: string;
  clusterIP: string;
  dnsNames: string[];
  endpoints: Array<{ pod: string; ip: string; ready: boolean }>;
}

export async function describeServices(
  client: ApiVerbs,
  services: ReadonlyArray<{ namespace: string; name: string }>,
  options: { clusterDomain: string },
): Promise<ServiceRow[]> {
  const rows: ServiceRow[] = [];
  for (const { namespace, name } of services) {
    const svc = (await client.get(REFS.services, namespace, name)) as unknown as Service;
    const slices = (
      await client.list(REFS.endpointslices, namespace, {
        labelSelector: `kubernetes.io/service-name=${name}`,
      })
    ).items as unknown as EndpointSlice[];
    const headless = svc.spec?.clusterIP === "None";
    const base = `${name}.${namespace}.svc.${options.clusterDomain}`;
    const dnsNames = [base];
    const endpoints: ServiceRow["endpoints"] = [];
    for (const slice of slices) {
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses[0] ?? "";
        const ready = ep.conditions?.ready !== false;
        endpoints.push({ pod: ep.targetRef?.name ?? "-", ip, ready });
        if (headless && ready) {
          const host = ep.hostname ?? ip.replaceAll(".", "-").replaceAll(":", "-");
          dnsNames.push(`${host}.${base}`);
        }
      }
    }
    endpoints.sort((a, b) => a.pod.localeCompare(b.pod));
    rows.push({
      namespace,
      name,
      type: svc.spec?.type ?? "ClusterIP",
      clusterIP: headless ? "None" : (svc.spec?.clusterIP ?? ""),
      dnsNames: [base, ...dnsNames.slice(1).sort()],
      endpoints,
    });
  }
  return rows;
}

/** Renders rows as a column-aligned table; a Service with several lines spans several rows. */
export function formatServiceTable(rows: readonly ServiceRow[]): string {
  const header = ["SERVICE", "TYPE", "CLUSTER-IP", "DNS NAMES", "ENDPOINTS (POD IP READY)"];
  const lines: string[][] = [header];
  for (const r of rows) {
    const eps = r.endpoints.map((e) => `${e.pod} ${e.ip} ${e.ready ? "ready" : "not-ready"}`);
    if (eps.length === 0) eps.push("<none>");
    const height = Math.max(r.dnsNames.length, eps.length);
    for (let i = 0; i < height; i++) {
      lines.push(
        i === 0
          ? [`${r.namespace}/${r.name}`, r.type, r.clusterIP, r.dnsNames[0] ?? "", eps[0] ?? ""]
          : ["", "", "", r.dnsNames[i] ?? "", eps[i] ?? ""],
      );
    }
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => (l[c] ?? "").length)));
  return lines
    .map((l) =>
      l
        .map((cell, c) => (c === l.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
        .join("   ")
        .trimEnd(),
    )
    .join("\n");
}

/** The commands a person can paste to look around. */
export function suggestedCommands(
  rows: readonly ServiceRow[],
  options: { kubeconfigPath: string; dns: { host: string; port: number } },
): string[] {
  const k = `kubectl --kubeconfig ${options.kubeconfigPath}`;
  const out = [`${k} get pods -o wide`, `${k} get svc,endpointslices -A`];
  for (const r of rows) {
    out.push(`dig @${options.dns.host} -p ${options.dns.port} +short ${r.dnsNames[0]}`);
  }
  return out;
}

/** The ranges a cluster holds, one aligned line each (those it knows; a run info may lack them). */
export function describeRanges(ranges: Partial<AddressRanges>): string[] {
  const lines: [string, string | undefined][] = [
    ["pods:", ranges.podCidr],
    ["services:", ranges.serviceCidr],
    ["LB ingress:", ranges.loadBalancerCidr],
    ["node IP:", ranges.nodeIP && `${ranges.nodeIP} (NodePorts listen here)`],
  ];
  return lines.flatMap(([label, value]) => (value ? [`${label.padEnd(13)}${value}`] : []));
}
