/**
 * Kernel ClusterIPs (`--proxy-mode nftables`): a pure function from the proxy's desired state
 * (state.ts) to the `nft -f` script of the cluster's service table, shaped as kube-proxy's
 * nftables mode shapes its own: a verdict map keyed by `ip daddr . l4proto . dport` sends a
 * ClusterIP:port to its service chain; the service chain picks an endpoint chain with
 * `numgen random mod N` (after the ClientIP affinity sets, when the Service asks for ClientIP
 * affinity); an endpoint chain records the client in its affinity set and DNATs to the
 * endpoint; a Service port without usable endpoints is in a set whose packets are rejected.
 * Usable endpoints are kube-proxy's (choose.ts `categorize`: ready ones, else serving
 * terminating ones; internalTrafficPolicy Local keeps this node's).
 *
 * NodePorts are served the same way at each node's gateway address, which is the node as a pod
 * sees it (127.0.0.1 in a pod is the pod's own), and at the node IP when that is not 127.0.0.1.
 *
 * Scope, and why: only packets that come from pods (in on the host ends of this cluster's
 * veths, `iifname "lk<tag>*"`) are DNATed, so a pod's source address reaches the endpoint
 * (NetworkPolicy sees the real client) and no userspace hop is taken. The host's own
 * connections (the user's shell) keep going to the userspace listeners: a DNAT in `output`
 * would need a source address the pod can answer, and 127.0.0.1 is the pod's own loopback.
 * A Service port with an endpoint outside the pod range (the API server, a hostNetwork pod:
 * addresses on the host) is left to the userspace listener too. Hairpin traffic (a pod reaching
 * itself through its Service) is SNATed to its node's gateway, as kube-proxy masquerades it,
 * matched with a set of `endpoint . endpoint` pairs rather than a packet mark, so that no mark
 * bit of anyone else's is taken.
 *
 * The whole table is replaced in one transaction on each change (affinity entries start over
 * then; connections already set up keep their NAT in conntrack).
 *
 * @module
 */
import { cidrContains, parseCidr } from "../api/cidr.ts";
import { categorize } from "./choose.ts";
import type { ServicePortState } from "./state.ts";

export interface KernelServiceOptions {
  /** The table's name (`loopkube-<tag>-svc`). */
  table: string;
  /** The prefix of this cluster's pod links (`lk<tag>`). */
  linkPrefix: string;
  /** The cluster's pod range: endpoints outside it stay with the userspace proxy. */
  podCidr: string;
  /** Each node's pod range and gateway: hairpin traffic is SNATed to the gateway. */
  nodes: { cidr: string; gateway: string }[];
}

const PROTO: Record<string, string> = { TCP: "tcp", UDP: "udp" };

/**
 * The frontends the kernel serves and their endpoints (exported for tests): ClusterIPs with
 * internalTrafficPolicy's endpoints; NodePorts, with externalTrafficPolicy's, at each node's
 * gateway (from a pod, the node is its gateway: 127.0.0.1 there is the pod's own) and at the
 * node IP unless that is 127.0.0.1.
 */
export function kernelPorts(
  ports: readonly ServicePortState[],
  o: Pick<KernelServiceOptions, "podCidr" | "nodes">,
) {
  const range = parseCidr(o.podCidr);
  const out: {
    port: ServicePortState;
    ip: string;
    frontPort: number;
    endpoints: { ip: string; port: number }[];
  }[] = [];
  for (const port of ports) {
    if (!port.endpoints.every((e) => cidrContains(range, e.ip))) continue;
    const usable = (local: boolean) =>
      categorize(port.endpoints, { local }).usable.map((e) => ({ ip: e.ip, port: e.port }));
    for (const f of port.frontends) {
      if (!PROTO[f.protocol]) continue;
      if (f.kind === "ClusterIP") {
        out.push({ port, ip: f.ip, frontPort: f.port, endpoints: usable(port.internalLocal) });
      } else if (f.kind === "NodePort") {
        const ips = [...o.nodes.map((n) => n.gateway), ...(f.ip === "127.0.0.1" ? [] : [f.ip])];
        for (const ip of ips) {
          out.push({ port, ip, frontPort: f.port, endpoints: usable(port.externalLocal) });
        }
      }
    }
  }
  const order = (x: (typeof out)[0]) => `${x.port.key} ${x.ip}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

export function kernelServicesScript(
  ports: readonly ServicePortState[],
  o: KernelServiceOptions,
): string {
  const served = kernelPorts(ports, o);
  const map: string[] = [];
  const rejected: string[] = [];
  const hairpin = new Set<string>();
  const chains: string[] = [];
  const sets: string[] = [];
  served.forEach((s, i) => {
    const proto = PROTO[s.port.protocol] ?? "tcp";
    const key = `${s.ip} . ${proto} . ${s.frontPort}`;
    if (s.endpoints.length === 0) {
      rejected.push(key);
      return;
    }
    const svc = `svc-${i}`;
    map.push(`${key} : goto ${svc}`);
    const affinity = s.port.affinityTimeoutSeconds;
    const body: string[] = [];
    s.endpoints.forEach((e, j) => {
      const ep = `${svc}-ep-${j}`;
      hairpin.add(`${e.ip} . ${e.ip}`);
      const epBody: string[] = [];
      if (affinity !== undefined) {
        sets.push(
          `  set ${ep}-affinity {`,
          "    type ipv4_addr; flags dynamic,timeout;",
          `    timeout ${affinity}s;`,
          "  }",
        );
        body.push(`ip saddr @${ep}-affinity goto ${ep}`);
        epBody.push(`update @${ep}-affinity { ip saddr }`);
      }
      epBody.push(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      chains.push(`  chain ${ep} {`, ...epBody.map((l) => `    ${l}`), "  }");
    });
    const n = s.endpoints.length;
    body.push(
      n === 1
        ? `goto ${svc}-ep-0`
        : `numgen random mod ${n} vmap { ${s.endpoints.map((_, j) => `${j} : goto ${svc}-ep-${j}`).join(", ")} }`,
    );
    chains.push(`  chain ${svc} {`, ...body.map((l) => `    ${l}`), "  }");
  });
  const from = `iifname "${o.linkPrefix}*"`;
  const lines = [
    `table ip ${o.table}`,
    `delete table ip ${o.table}`,
    `table ip ${o.table} {`,
    "  map service-ips {",
    "    type ipv4_addr . inet_proto . inet_service : verdict;",
    ...(map.length > 0 ? [`    elements = { ${map.join(", ")} }`] : []),
    "  }",
    "  set no-endpoint-services {",
    "    type ipv4_addr . inet_proto . inet_service;",
    ...(rejected.length > 0 ? [`    elements = { ${rejected.join(", ")} }`] : []),
    "  }",
    "  set hairpin {",
    "    type ipv4_addr . ipv4_addr;",
    ...(hairpin.size > 0 ? [`    elements = { ${[...hairpin].join(", ")} }`] : []),
    "  }",
    ...sets,
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    `    ${from} ip daddr . meta l4proto . th dport vmap @service-ips`,
    "  }",
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    `    ${from} ip daddr . meta l4proto . th dport @no-endpoint-services reject`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    ...o.nodes.map(
      (n) => `    ip daddr ${n.cidr} ip saddr . ip daddr @hairpin snat to ${n.gateway}`,
    ),
    "  }",
    ...chains,
    "}",
    "",
  ];
  return lines.join("\n");
}
