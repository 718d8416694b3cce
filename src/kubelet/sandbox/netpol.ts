/**
 * NetworkPolicy (networking.k8s.io/v1) as an nftables ruleset: a pure function from the
 * cluster's policies, pods, namespaces and Services to the `nft -f` script of this cluster's
 * table. Semantics as kube documents them ("Network Policies"):
 * - A pod is isolated for ingress (egress) when a policy of its namespace selects it
 *   (`podSelector`) and has `Ingress` (`Egress`) among its `policyTypes`; unset policyTypes mean
 *   `Ingress`, plus `Egress` when the policy has egress rules (kube's defaulting). An isolated
 *   pod takes only what the union of those policies' rules allows; a policy with no rules of
 *   its kind denies all (default deny). Other pods are not restricted.
 * - A rule allows when one of its peers and one of its ports match; no `from`/`to` is every
 *   peer, no `ports` every port and protocol. Peers: `podSelector` alone (pods of the policy's
 *   namespace), `namespaceSelector` alone (every pod of the selected namespaces), both (pods
 *   matching in those namespaces), `ipBlock` (its CIDR less its `except`s). Ports: number (with
 *   `endPort`, a range), name (a container port of the destination pod with that name and the
 *   port's protocol, default TCP), or no port (every port of the protocol).
 * - Connections are what is policed: replies of an allowed connection pass. Traffic between a
 *   pod and its node (the node's address, the pod's gateway; also probes) always passes, as
 *   kube says; a pod's traffic to itself never leaves its namespace.
 * - A connection to a ClusterIP (the userspace proxy, or kube-dns answering on its own
 *   ClusterIP, on the host) is judged, as kube does after the DNAT, by the endpoints behind it:
 *   allowed when the egress rules allow one of the Service port's endpoints (pod IP and target
 *   port). The cluster DNS, which is no pod here, stands as the pod `kube-system/kube-dns`
 *   (labels `k8s-app: kube-dns`) with ports `dns` 53/UDP and `dns-tcp` 53/TCP, so the DNS egress
 *   rules users write for kube-dns hold.
 *
 * Where: the host ends of the pods' veth pairs (one table per cluster, `ip loopkube-<tag>`):
 * the `forward` hook sees pod-to-pod traffic (egress of the sender on its link, ingress of the
 * receiver on its link), the `input` hook a pod's traffic to the host. Chosen over rules inside
 * each pod's namespace because one transaction replaces the whole cluster's rules at once and
 * the host's `nft list` shows them all; a pod namespace holds no rule a process in it could
 * remove. Only packets entering or leaving this cluster's links are ever dropped.
 *
 * @module
 */
import type {
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from "kubernetes-types/networking/v1.js";
import { ipToNumber, numberToIp } from "../../api/cidr.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";

export type { NetworkPolicy } from "kubernetes-types/networking/v1.js";

type NetworkPolicyRule = NetworkPolicyIngressRule & NetworkPolicyEgressRule;

export interface NamedPort {
  name: string;
  port: number;
  protocol: string;
}

/** A pod as the policies see it. */
export interface PolicyPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  ports: NamedPort[];
  /** The host end of its veth pair; only such pods can be isolated. */
  link?: string;
}

/** A Service port on a ClusterIP, with the endpoints (address, target port) behind it. */
export interface PolicyServicePort {
  ip: string;
  port: number;
  protocol: string;
  endpoints: { ip: string; port: number }[];
}

export interface PolicyInputs {
  policies: NetworkPolicy[];
  pods: PolicyPod[];
  /** Namespace name → labels. */
  namespaces: Map<string, Record<string, string>>;
  services: PolicyServicePort[];
  /** The node's addresses (its IP, the pods' gateways): always reachable. */
  nodeIPs: string[];
  /** The cluster DNS's ClusterIP, standing as the kube-dns pod (see the header). */
  dnsIP?: string;
}

type Direction = "Ingress" | "Egress";
/** An inclusive range of addresses as unsigned numbers. */
type Range = [number, number];
/** What one rule entry lets through: addresses (undefined: any), protocol and port range. */
interface Allow {
  addrs?: Range[];
  protocol?: string;
  ports?: [number, number];
}

export const DNS_POD: Omit<PolicyPod, "ip"> = {
  namespace: "kube-system",
  name: "kube-dns",
  labels: { "k8s-app": "kube-dns" },
  ports: [
    { name: "dns", port: 53, protocol: "UDP" },
    { name: "dns-tcp", port: 53, protocol: "TCP" },
  ],
};

/** A policy's policyTypes, defaulted as kube does. */
export function policyTypesOf(p: NetworkPolicy): Direction[] {
  const given = p.spec?.policyTypes ?? [];
  if (given.length > 0)
    return given.filter((t): t is Direction => t === "Ingress" || t === "Egress");
  return (p.spec?.egress?.length ?? 0) > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

const selectorMatches = (s: unknown, labels: Record<string, string>) => {
  try {
    return matches(
      selectorFromLabelSelector(s as Parameters<typeof selectorFromLabelSelector>[0]),
      labels,
    );
  } catch {
    return false;
  }
};

/** The policies selecting a pod for a direction (it is isolated for it when there is one). */
export function policiesFor(pod: Omit<PolicyPod, "ip">, dir: Direction, all: NetworkPolicy[]) {
  return all.filter(
    (p) =>
      p.metadata?.namespace === pod.namespace &&
      policyTypesOf(p).includes(dir) &&
      selectorMatches(p.spec?.podSelector ?? {}, pod.labels),
  );
}

/** The pods a peer selects (for a policy of namespace `ns`); undefined for an ipBlock. */
function peerPods(peer: NetworkPolicyPeer, ns: string, inputs: PolicyInputs, pods: PolicyPod[]) {
  if (peer.ipBlock) return undefined;
  return pods.filter((q) => {
    if (peer.namespaceSelector) {
      const nsLabels = inputs.namespaces.get(q.namespace);
      if (!nsLabels || !selectorMatches(peer.namespaceSelector, nsLabels)) return false;
    } else if (q.namespace !== ns) return false;
    return peer.podSelector ? selectorMatches(peer.podSelector, q.labels) : true;
  });
}

const MAX = 0xffffffff;

function cidrRange(cidr: string): Range | undefined {
  const [ip = "", bits = "32"] = cidr.split("/");
  const base = ipToNumber(ip);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    return undefined; // An IPv6 block: no pod or Service here has such an address.
  }
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  return [start, start + size - 1];
}

/** An ipBlock's addresses: its CIDR less its excepts. */
export function ipBlockRanges(cidr: string, except: string[] = []): Range[] {
  const whole = cidrRange(cidr);
  if (!whole) return [];
  let ranges: Range[] = [whole];
  for (const e of except) {
    const cut = cidrRange(e);
    if (!cut) continue;
    ranges = ranges.flatMap(([a, b]): Range[] => {
      if (cut[1] < a || cut[0] > b) return [[a, b]];
      const out: Range[] = [];
      if (cut[0] > a) out.push([a, cut[0] - 1]);
      if (cut[1] < b) out.push([cut[1] + 1, b]);
      return out;
    });
  }
  return ranges;
}

/** Sorted, overlapping and touching ranges merged (nft refuses overlapping set elements). */
export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

const one = (ip: string): Range[] => {
  const n = ipToNumber(ip);
  return n === undefined ? [] : [[n, n]];
};

/** The (protocol, port range) a policy port gives for a destination pod; [] if it names none. */
function portsOf(port: NetworkPolicyPort, dest: Pick<PolicyPod, "ports"> | undefined) {
  const protocol = port.protocol ?? "TCP";
  if (port.port === undefined) return [{ protocol }];
  if (typeof port.port === "number") {
    return [{ protocol, ports: [port.port, port.endPort ?? port.port] as [number, number] }];
  }
  const n = Number(port.port);
  if (/^\d+$/.test(port.port)) return [{ protocol, ports: [n, n] as [number, number] }];
  const named = dest?.ports.find((p) => p.name === port.port && p.protocol === protocol);
  return named ? [{ protocol, ports: [named.port, named.port] as [number, number] }] : [];
}

/**
 * What a rule lets through. `self` is the isolated pod; for ingress the destination is `self`
 * (named ports are its), for egress each peer pod (named ports are the peer's).
 */
function ruleAllows(
  rule: NetworkPolicyRule,
  dir: Direction,
  ns: string,
  self: PolicyPod,
  inputs: PolicyInputs,
  pods: PolicyPod[],
): Allow[] {
  const peers = (dir === "Ingress" ? rule.from : rule.to) ?? [];
  const ports = rule.ports ?? [];
  /** Peers as address sets, each with the pod whose named ports apply (egress), if any. */
  const targets: { addrs?: Range[]; pod?: PolicyPod }[] = [];
  if (peers.length === 0) {
    if (
      dir === "Egress" &&
      ports.some((p) => typeof p.port === "string" && !/^\d+$/.test(p.port))
    ) {
      for (const q of pods) targets.push({ addrs: one(q.ip), pod: q });
      targets.push({});
    } else targets.push({});
  } else {
    for (const peer of peers) {
      const selected = peerPods(peer, ns, inputs, pods);
      if (selected === undefined) {
        const b = peer.ipBlock;
        if (b) targets.push({ addrs: ipBlockRanges(b.cidr, b.except ?? []) });
      } else {
        for (const q of selected) targets.push({ addrs: one(q.ip), pod: q });
      }
    }
  }
  const out: Allow[] = [];
  for (const t of targets) {
    const base: Allow = t.addrs ? { addrs: t.addrs } : {};
    if (ports.length === 0) {
      out.push(base);
      continue;
    }
    const dest = dir === "Ingress" ? self : t.pod;
    for (const p of ports) for (const pp of portsOf(p, dest)) out.push({ ...base, ...pp });
  }
  return out;
}

/** Everything the policies isolating `pod` for `dir` let through; undefined: not isolated. */
export function allowsFor(
  pod: PolicyPod,
  dir: Direction,
  inputs: PolicyInputs,
  pods: PolicyPod[] = peersOf(inputs),
): Allow[] | undefined {
  const policies = policiesFor(pod, dir, inputs.policies);
  if (policies.length === 0) return undefined;
  const key = dir === "Ingress" ? "ingress" : "egress";
  return policies.flatMap((p) =>
    (p.spec?.[key] ?? []).flatMap((rule) =>
      ruleAllows(rule, dir, p.metadata?.namespace ?? "", pod, inputs, pods),
    ),
  );
}

/** The pods that peers may select: the cluster's, and the cluster DNS standing as kube-dns. */
function peersOf(inputs: PolicyInputs): PolicyPod[] {
  return inputs.dnsIP ? [...inputs.pods, { ...DNS_POD, ip: inputs.dnsIP }] : inputs.pods;
}

/** Whether an Allow list lets a connection to (or from) `ip` on `protocol`/`port` through. */
export function permits(allows: Allow[], ip: string, protocol: string, port: number): boolean {
  const n = ipToNumber(ip);
  if (n === undefined) return false;
  return allows.some(
    (a) =>
      (!a.addrs || a.addrs.some(([x, y]) => n >= x && n <= y)) &&
      (!a.protocol || a.protocol === protocol) &&
      (!a.ports || (port >= a.ports[0] && port <= a.ports[1])),
  );
}

const element = ([a, b]: Range) => (a === b ? numberToIp(a) : `${numberToIp(a)}-${numberToIp(b)}`);
const PROTOCOLS: Record<string, string> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** One nft rule (without its verdict) for an Allow; undefined if it can match nothing. */
function match(a: Allow, field: "saddr" | "daddr"): string | undefined {
  const parts: string[] = [];
  if (a.addrs) {
    const merged = mergeRanges(a.addrs);
    if (merged.length === 0) return undefined;
    if (!(merged.length === 1 && merged[0]?.[0] === 0 && merged[0]?.[1] === MAX)) {
      parts.push(`ip ${field} { ${merged.map(element).join(", ")} }`);
    }
  }
  if (a.protocol) {
    const proto = PROTOCOLS[a.protocol];
    if (!proto) return undefined;
    parts.push(
      a.ports
        ? `${proto} dport ${a.ports[0] === a.ports[1] ? a.ports[0] : `${a.ports[0]}-${a.ports[1]}`}`
        : `meta l4proto ${proto}`,
    );
  }
  return parts.join(" ");
}

/** Rules with the same ports and protocol share one rule (their addresses one set). */
function rulesOf(allows: Allow[], field: "saddr" | "daddr"): string[] {
  const byPorts = new Map<string, Allow>();
  const out: string[] = [];
  for (const a of allows) {
    if (!a.addrs) {
      const m = match(a, field);
      if (m !== undefined) out.push(m);
      continue;
    }
    const key = `${a.protocol ?? ""}/${a.ports?.join("-") ?? ""}`;
    const held = byPorts.get(key);
    if (held) held.addrs?.push(...a.addrs);
    else byPorts.set(key, { ...a, addrs: [...a.addrs] });
  }
  for (const a of byPorts.values()) {
    const m = match(a, field);
    if (m !== undefined) out.push(m);
  }
  return [...new Set(out)].map((m) => `${m}${m ? " " : ""}return`);
}

const REJECT = "reject with icmp type admin-prohibited";
const q = (s: string) => JSON.stringify(s);

/** Pods a policy selects but whose traffic cannot be policed (no veth of theirs). */
export function unpoliceable(inputs: PolicyInputs): { pod: PolicyPod; policy: NetworkPolicy }[] {
  const out: { pod: PolicyPod; policy: NetworkPolicy }[] = [];
  for (const pod of inputs.pods) {
    if (pod.link) continue;
    const selecting = new Set([
      ...policiesFor(pod, "Ingress", inputs.policies),
      ...policiesFor(pod, "Egress", inputs.policies),
    ]);
    for (const policy of selecting) out.push({ pod, policy });
  }
  return out;
}

/**
 * The `nft -f` script that replaces table `ip <table>` in one transaction (created empty
 * first, so that the delete never fails).
 */
export function rulesetOf(
  table: string,
  inputs: PolicyInputs,
  o: { linkPrefix?: string } = {},
): string {
  const pods = peersOf(inputs);
  const chains: string[] = [];
  const forward: string[] = [];
  const input: string[] = [];
  const nodes = mergeRanges(inputs.nodeIPs.flatMap(one));
  const sorted = [...inputs.pods].sort((a, b) => (a.link ?? "").localeCompare(b.link ?? ""));
  for (const pod of sorted) {
    if (!pod.link) continue;
    const ingress = allowsFor(pod, "Ingress", inputs, pods);
    const egress = allowsFor(pod, "Egress", inputs, pods);
    if (egress) {
      const chain = `egress-${pod.link}`;
      chains.push(chain, ...rulesOf(egress, "daddr"), REJECT, "");
      forward.push(`iifname ${q(pod.link)} jump ${chain}`);
      // To the host: the node itself always; a ClusterIP as the endpoints behind it (see header).
      const host: string[] = [];
      if (nodes.length > 0) host.push(`ip daddr { ${nodes.map(element).join(", ")} } return`);
      const services = inputs.dnsIP
        ? [
            ...DNS_POD.ports.map((p) => ({
              ip: inputs.dnsIP ?? "",
              port: p.port,
              protocol: p.protocol,
              endpoints: [{ ip: inputs.dnsIP ?? "", port: p.port }],
            })),
            ...inputs.services.filter((s) => s.ip !== inputs.dnsIP),
          ]
        : inputs.services;
      for (const s of services) {
        if (!s.endpoints.some((e) => permits(egress, e.ip, s.protocol, e.port))) continue;
        const proto = PROTOCOLS[s.protocol];
        if (proto) host.push(`ip daddr ${s.ip} ${proto} dport ${s.port} return`);
      }
      chains.push(`host-${chain}`, ...new Set(host), `jump ${chain}`, "");
      input.push(`iifname ${q(pod.link)} jump host-${chain}`);
    }
    if (ingress) {
      const chain = `ingress-${pod.link}`;
      chains.push(chain, ...rulesOf(ingress, "saddr"), REJECT, "");
      forward.push(`oifname ${q(pod.link)} jump ${chain}`);
    }
  }
  const lines = [`table ip ${table}`, `delete table ip ${table}`, `table ip ${table} {`];
  // A pod sends from its own address only: a pod's root cannot pass for another pod (an
  // address a policy allows) by adding that address to its eth0.
  const sources = sorted.flatMap((p) => (p.link && p.ip ? [`${q(p.link)} . ${p.ip}`] : []));
  const spoofed = o.linkPrefix
    ? [`iifname "${o.linkPrefix}*" iifname . ip saddr != @pod-sources drop`]
    : [];
  if (o.linkPrefix) {
    lines.push("  set pod-sources {", "    type ifname . ipv4_addr;");
    if (sources.length > 0) lines.push(`    elements = { ${sources.join(", ")} }`);
    lines.push("  }");
  }
  const base = (name: string, hook: string, rules: string[]) => {
    lines.push(`  chain ${name} {`, `    type filter hook ${hook} priority filter; policy accept;`);
    for (const r of spoofed) lines.push(`    ${r}`);
    if (rules.length > 0) lines.push("    ct state established,related accept");
    for (const r of rules) lines.push(`    ${r}`);
    lines.push("  }");
  };
  base("forward", "forward", forward);
  base("input", "input", input);
  let open = false;
  for (const l of chains) {
    if (l === "") {
      lines.push("  }");
      open = false;
    } else if (!open) {
      lines.push(`  chain ${l} {`);
      open = true;
    } else lines.push(`    ${l}`);
  }
  lines.push("}", "");
  return lines.join("\n");
}
