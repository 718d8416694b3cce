/**
 * Kernel ClusterIPs (`--proxy-mode nftables`): pure functions from the proxy's desired state
 * (state.ts) to the cluster's service table, shaped as kube-proxy's nftables mode shapes its
 * own: a verdict map keyed by `ip daddr . l4proto . dport` sends a ClusterIP:port to its
 * service chain; the service chain picks an endpoint chain with `numgen random mod N` (after the
 * ClientIP affinity sets, when the Service asks for ClientIP affinity); an endpoint chain
 * records the client in its affinity set and DNATs to the endpoint; a Service port without
 * usable endpoints is in a set whose packets are rejected. Usable endpoints are kube-proxy's
 * (choose.ts `categorize`: ready ones, else serving terminating ones; a Local traffic policy
 * keeps this node's, in a `local-` chain beside the `svc-` one).
 *
 * Names are stable (a hash of the service port, endpoint and affinity timeout, then a readable
 * tail), so a change touches only what it changes: {@link kernelUpdateScript} adds and deletes
 * map and set elements, flushes and refills a changed chain, and adds and deletes chains and
 * affinity sets, in one transaction, as kube-proxy's partial syncs do; affinity entries of the
 * other Services survive. The ClusterIP and the NodePorts of a service port go to the same
 * chain (when their traffic policies agree) and every chain of a port shares its endpoint
 * chains, so a client keeps one endpoint whichever way it comes in (one affinity set per
 * endpoint, keyed by client address, as kube's). {@link kernelServicesScript} replaces the whole
 * table (at start, and after a failed update).
 *
 * NodePorts are served the same way at each node's gateway address, which is the node as a pod
 * sees it (127.0.0.1 in a pod is the pod's own), and at the node IP when that is not 127.0.0.1;
 * so are a LoadBalancer Service's ingress IPs (from its status, {@link withIngressFrontends})
 * and loopback externalIPs. For these three, pods get every usable endpoint unless both traffic
 * policies are Local, as kube-proxy short-circuits pod traffic to external addresses. A
 * LoadBalancer Service with `loadBalancerSourceRanges` (source-ranges.ts) gets kube-proxy's
 * firewall: a `firewall-ips` map, checked in a filter chain before DNAT, sends its ingress
 * `ip . proto . port` to a `fw-` chain dropping sources outside the ranges (the ingress IPs
 * themselves allowed when a range holds the node's IP); its ClusterIP and NodePorts are not
 * filtered, as in kube.
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
 * @module
 */
import { createHash } from "node:crypto";
import { cidrContains, parseCidr } from "../api/cidr.ts";
import { categorize } from "./choose.ts";
import { isLoopbackV4 } from "./lb-ips.ts";
import { allowedSources } from "./source-ranges.ts";
import type { Frontend, ServicePortState, ServiceView } from "./state.ts";

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
 * The service ports of `views` with a LoadBalancer frontend per IPv4 loopback
 * `status.loadBalancer.ingress[].ip` of a LoadBalancer Service, as kube-proxy DNATs what the
 * status says (whoever wrote it: loopkube's own allocator or another controller), except
 * `ipMode: Proxy` ingress, which the load balancer itself proxies.
 */
export function withIngressFrontends(views: Iterable<ServiceView>): ServicePortState[] {
  const out: ServicePortState[] = [];
  for (const v of views) {
    const spec = v.service.spec;
    const ips =
      spec?.type === "LoadBalancer"
        ? (v.service.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
            i.ip && i.ipMode !== "Proxy" && isLoopbackV4(i.ip) ? [i.ip] : [],
          )
        : [];
    for (const p of v.ports) {
      const sp = spec?.ports?.find(
        (x) => (x.name ?? "") === p.portName && (x.protocol ?? "TCP") === p.protocol,
      );
      const have = new Set(p.frontends.map((f) => `${f.kind} ${f.ip}`));
      const add = sp
        ? ips
            .filter((ip) => !have.has(`LoadBalancer ${ip}`))
            .map((ip) => ({
              ip,
              port: sp.port,
              protocol: p.protocol,
              kind: "LoadBalancer" as const,
            }))
        : [];
      out.push(add.length > 0 ? { ...p, frontends: [...p.frontends, ...add] } : p);
    }
  }
  return out;
}

/**
 * The frontends the kernel serves and their endpoints (exported for tests): ClusterIPs with
 * internalTrafficPolicy's endpoints; NodePorts at each node's gateway (from a pod, the node is
 * its gateway: 127.0.0.1 there is the pod's own) and at the node IP unless it is 127.0.0.1,
 * LoadBalancer ingress IPs and externalIPs, all three with every usable endpoint unless both
 * traffic policies are Local (then this node's), as kube-proxy treats pod traffic to them.
 */
export function kernelPorts(
  ports: readonly ServicePortState[],
  o: Pick<KernelServiceOptions, "podCidr" | "nodes">,
) {
  const range = parseCidr(o.podCidr);
  const out: {
    port: ServicePortState;
    kind: Frontend["kind"];
    ip: string;
    frontPort: number;
    local: boolean;
    endpoints: { ip: string; port: number }[];
  }[] = [];
  for (const port of ports) {
    if (!port.endpoints.every((e) => cidrContains(range, e.ip))) continue;
    const usable = (local: boolean) =>
      categorize(port.endpoints, { local }).usable.map((e) => ({ ip: e.ip, port: e.port }));
    // Pod traffic to a node port, load balancer IP or external IP: kube-proxy short-circuits it
    // to every usable endpoint unless both traffic policies are Local (its external chain's
    // "short-circuit pod traffic" goes to the cluster policy chain where there is one).
    const external = port.externalLocal && port.internalLocal;
    for (const f of port.frontends) {
      if (!PROTO[f.protocol]) continue;
      if (f.kind === "ClusterIP") {
        const local = port.internalLocal;
        out.push({
          port,
          kind: f.kind,
          ip: f.ip,
          frontPort: f.port,
          local,
          endpoints: usable(local),
        });
      } else if (f.kind === "NodePort") {
        const ips = [...o.nodes.map((n) => n.gateway), ...(f.ip === "127.0.0.1" ? [] : [f.ip])];
        for (const ip of ips) {
          out.push({
            port,
            kind: f.kind,
            ip,
            frontPort: f.port,
            local: external,
            endpoints: usable(external),
          });
        }
      } else {
        // A LoadBalancer ingress IP or an externalIP.
        out.push({
          port,
          kind: f.kind,
          ip: f.ip,
          frontPort: f.port,
          local: external,
          endpoints: usable(external),
        });
      }
    }
  }
  const order = (x: (typeof out)[0]) => `${x.port.key} ${x.ip}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/** What the service table holds; two models diff into an update script. */
export interface KernelModel {
  /** `service-ips` map: `ip . proto . port` → the chain it goes to. */
  services: Map<string, string>;
  /**
   * `firewall-ips` map: a LoadBalancer ingress `ip . proto . port` whose Service has
   * `loadBalancerSourceRanges` → its `fw-` chain, which drops sources outside them.
   */
  firewall: Map<string, string>;
  /** `no-endpoint-services` set: `ip . proto . port`. */
  rejected: Set<string>;
  /** `hairpin` set: `endpoint . endpoint`. */
  hairpin: Set<string>;
  /** Chains (service and endpoint) → their rules. */
  chains: Map<string, string[]>;
  /** Affinity sets → timeout in seconds. */
  affinity: Map<string, number>;
  /** UDP frontends (`ip:port`) → the endpoints (`ip:port`) they DNAT to (none: rejected). */
  udp: Map<string, Set<string>>;
}

/** A stable nft identifier: a prefix, a hash of `key`, a readable tail (nft names ≤ 256). */
function name(prefix: string, key: string, tail: string): string {
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
  return `${prefix}-${hash}-${tail}`.slice(0, 200);
}

export function kernelModel(
  ports: readonly ServicePortState[],
  o: Pick<KernelServiceOptions, "podCidr" | "nodes">,
): KernelModel {
  const m: KernelModel = {
    services: new Map(),
    firewall: new Map(),
    rejected: new Set(),
    hairpin: new Set(),
    chains: new Map(),
    affinity: new Map(),
    udp: new Map(),
  };
  for (const s of kernelPorts(ports, o)) {
    const proto = PROTO[s.port.protocol] ?? "tcp";
    const key = `${s.ip} . ${proto} . ${s.frontPort}`;
    if (proto === "udp") {
      m.udp.set(`${s.ip}:${s.frontPort}`, new Set(s.endpoints.map((e) => `${e.ip}:${e.port}`)));
    }
    if (s.endpoints.length === 0) {
      m.rejected.add(key);
      continue;
    }
    const [ns, svcName] = s.port.serviceKey.split("/");
    const tail = `${ns}/${svcName}/${proto}/${s.port.portName || "-"}`;
    const affinity = s.port.affinityTimeoutSeconds;
    const svc = name(s.local ? "local" : "svc", `${s.port.key}/${proto}`, tail);
    m.services.set(key, svc);
    const ranges = s.port.sourceRanges;
    if (s.kind === "LoadBalancer" && ranges !== undefined) {
      // kube-proxy's firewall chain: only for traffic to the load balancer IPs, and only while
      // the Service has endpoints (without, its packets are rejected anyway).
      const lbIps = s.port.frontends.filter((f) => f.kind === "LoadBalancer").map((f) => f.ip);
      const sources = allowedSources(ranges, [...new Set(lbIps)]);
      const fw = name("fw", `${s.port.key}/${proto}`, tail);
      m.firewall.set(key, fw);
      m.chains.set(fw, [`ip saddr != { ${sources.join(", ")} } drop`]);
    }
    if (m.chains.has(svc)) continue;
    const body: string[] = [];
    const eps = s.endpoints.map((e) => {
      const id = `${s.port.key}/${proto} ${e.ip}:${e.port}`;
      const ep = name("ep", id, `${tail}__${e.ip}/${e.port}`);
      m.hairpin.add(`${e.ip} . ${e.ip}`);
      const epBody: string[] = [];
      if (affinity !== undefined) {
        const set = name("aff", `${id} ${affinity}`, `${tail}__${e.ip}/${e.port}`);
        m.affinity.set(set, affinity);
        body.push(`ip saddr @${set} goto ${ep}`);
        epBody.push(`update @${set} { ip saddr }`);
      }
      epBody.push(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      m.chains.set(ep, epBody);
      return ep;
    });
    body.push(
      eps.length === 1
        ? `goto ${eps[0]}`
        : `numgen random mod ${eps.length} vmap { ${eps.map((ep, j) => `${j} : goto ${ep}`).join(", ")} }`,
    );
    m.chains.set(svc, body);
  }
  return m;
}

const affinitySet = (set: string, timeout: number) =>
  `set ${set} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`;

/** The whole table, replacing whatever is there (at start and after a failed update). */
export function kernelFullScript(m: KernelModel, o: KernelServiceOptions): string {
  const elements = (items: Iterable<string>) => {
    const all = [...items];
    return all.length > 0 ? [`    elements = { ${all.join(", ")} }`] : [];
  };
  const from = `iifname "${o.linkPrefix}*"`;
  const lines = [
    `table ip ${o.table}`,
    `delete table ip ${o.table}`,
    `table ip ${o.table} {`,
    "  map service-ips {",
    "    type ipv4_addr . inet_proto . inet_service : verdict;",
    ...elements([...m.services].map(([k, c]) => `${k} : goto ${c}`)),
    "  }",
    "  set no-endpoint-services {",
    "    type ipv4_addr . inet_proto . inet_service;",
    ...elements(m.rejected),
    "  }",
    "  set hairpin {",
    "    type ipv4_addr . ipv4_addr;",
    ...elements(m.hairpin),
    "  }",
    "  map firewall-ips {",
    "    type ipv4_addr . inet_proto . inet_service : verdict;",
    ...elements([...m.firewall].map(([k, c]) => `${k} : goto ${c}`)),
    "  }",
    ...[...m.affinity].map(([s, t]) => `  ${affinitySet(s, t)}`),
    "  chain filter-prerouting {",
    "    type filter hook prerouting priority dstnat - 10; policy accept;",
    `    ${from} ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    "  }",
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
    ...[...m.chains].flatMap(([c, rules]) => [
      `  chain ${c} {`,
      ...rules.map((l) => `    ${l}`),
      "  }",
    ]),
    "}",
    "",
  ];
  return lines.join("\n");
}

export function kernelServicesScript(
  ports: readonly ServicePortState[],
  o: KernelServiceOptions,
): string {
  return kernelFullScript(kernelModel(ports, o), o);
}

/**
 * The transaction taking the table from `prev` to `next`, touching only what differs (kube's
 * partial sync): new affinity sets and chains first, changed chains flushed and refilled, map
 * and set elements deleted and added, then the chains and sets no longer used flushed and
 * deleted (nothing refers to them by then). Undefined when nothing differs.
 */
export function kernelUpdateScript(
  prev: KernelModel,
  next: KernelModel,
  o: Pick<KernelServiceOptions, "table">,
): string | undefined {
  const t = `ip ${o.table}`;
  const out: string[] = [];
  for (const [s, timeout] of next.affinity) {
    if (!prev.affinity.has(s))
      out.push(`add ${affinitySet(s, timeout).replace("set ", `set ${t} `)}`);
  }
  for (const c of next.chains.keys()) if (!prev.chains.has(c)) out.push(`add chain ${t} ${c}`);
  for (const [c, rules] of next.chains) {
    const old = prev.chains.get(c);
    if (old !== undefined && old.join("\n") === rules.join("\n")) continue;
    if (old !== undefined) out.push(`flush chain ${t} ${c}`);
    for (const r of rules) out.push(`add rule ${t} ${c} ${r}`);
  }
  const element = (set: string, before: Set<string>, after: Set<string>) => {
    for (const e of before) if (!after.has(e)) out.push(`delete element ${t} ${set} { ${e} }`);
    for (const e of after) if (!before.has(e)) out.push(`add element ${t} ${set} { ${e} }`);
  };
  const verdicts = (map: string, from: Map<string, string>, to: Map<string, string>) => {
    const entries = (m: Map<string, string>) => new Set([...m].map(([k, c]) => `${k} : goto ${c}`));
    const before = entries(from);
    const after = entries(to);
    for (const e of before) {
      if (!after.has(e)) out.push(`delete element ${t} ${map} { ${e.split(" : ")[0]} }`);
    }
    for (const e of after) if (!before.has(e)) out.push(`add element ${t} ${map} { ${e} }`);
  };
  verdicts("service-ips", prev.services, next.services);
  verdicts("firewall-ips", prev.firewall, next.firewall);
  element("no-endpoint-services", prev.rejected, next.rejected);
  element("hairpin", prev.hairpin, next.hairpin);
  const gone = [...prev.chains.keys()].filter((c) => !next.chains.has(c));
  for (const c of gone) out.push(`flush chain ${t} ${c}`);
  for (const c of gone) out.push(`delete chain ${t} ${c}`);
  for (const s of prev.affinity.keys()) if (!next.affinity.has(s)) out.push(`delete set ${t} ${s}`);
  return out.length > 0 ? `${out.join("\n")}\n` : undefined;
}

/**
 * The UDP conntrack entries kube-proxy deletes after a change (conntrack keeps a UDP "flow"
 * pointing where its first packet went): to an endpoint no longer used by a frontend, and to a
 * frontend that had no endpoints (its packets were rejected, not DNATed) and has some now.
 */
export function staleUdp(
  prev: KernelModel | undefined,
  next: KernelModel,
): { frontend: string; endpoint?: string }[] {
  const out: { frontend: string; endpoint?: string }[] = [];
  for (const [frontend, eps] of prev?.udp ?? []) {
    const now = next.udp.get(frontend) ?? new Set<string>();
    for (const endpoint of eps) if (!now.has(endpoint)) out.push({ frontend, endpoint });
  }
  for (const [frontend, eps] of next.udp) {
    if (eps.size > 0 && (prev?.udp.get(frontend)?.size ?? 0) === 0) out.push({ frontend });
  }
  return out;
}
