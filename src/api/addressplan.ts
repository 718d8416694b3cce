/**
 * The address plan of a cluster, named and derived in one place: the pod range, the service
 * range with the `kubernetes` Service at its first address (`.1`) and `kube-dns` at its tenth
 * (`.10`, as kubeadm picks them), the NodePort range, the cluster domain, the range LoadBalancer
 * Services take their ingress IPs from, and the node's own address (NodePorts and
 * healthCheckNodePorts listen there; it is the node's InternalIP). Every component receives
 * these values; none has a default of its own.
 *
 * Everything lives in 127.0.0.0/8, which Linux routes to the loopback interface: no packet of a
 * cluster ever leaves the machine. Several clusters on one machine each hold a {@link rangeSlot}:
 * slot 0 is the documented default (services 127.96.0.0/16, pods 127.244.0.0/16, load balancers
 * 127.100.0.0/24, node 127.0.0.1); the others are disjoint, and none touches 127.0.0.0/16 (the
 * host's 127.0.0.1, systemd-resolved's 127.0.0.53, Debian's 127.0.1.1 hostname entry).
 *
 * Pure: no I/O. Which slot a cluster takes is decided by `src/cluster/` (a lease registry).
 *
 * @module
 */
import { type Cidr, ipToNumber, nthAddress, parseCidr } from "./cidr.ts";

/** What a cluster holds on the machine, and what two clusters must never share. */
export interface AddressRanges {
  podCidr: string;
  serviceCidr: string;
  /** LoadBalancer ingress IPs come from here. */
  loadBalancerCidr: string;
  /** The node's address: NodePorts listen here; it is the Node's InternalIP. */
  nodeIP: string;
}

export interface AddressPlan extends AddressRanges {
  /** The `default/kubernetes` Service: the first address of the service range. */
  kubernetesServiceIP: string;
  /** The `kube-system/kube-dns` Service: the tenth address of the service range. */
  dnsServiceIP: string;
  nodePortRange: { min: number; max: number };
  clusterDomain: string;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const NODE_PORT_RANGE: Readonly<{ min: number; max: number }> = Object.freeze({
  min: 30000,
  max: 32767,
});

/** How many disjoint range slots the machine offers (clusters running at once). */
export const RANGE_SLOTS = 60;

const LOOPBACK = parseCidr("127.0.0.0/8");

/**
 * Slot `index` (0 ≤ index < {@link RANGE_SLOTS}): services 127.96/16 upward (127.100 is left to
 * the load balancer /24s), pods 127.244/16 upward then down from 127.243/16, load balancers
 * 127.100.<index>.0/24, and the node 127.0.0.1 for slot 0, 127.100.255.<index> for the others.
 */
export function rangeSlot(index: number): AddressRanges {
  if (!Number.isInteger(index) || index < 0 || index >= RANGE_SLOTS) {
    throw new RangeError(`range slot ${index} is not within 0–${RANGE_SLOTS - 1}`);
  }
  const service = index < 4 ? 96 + index : 97 + index;
  const pod = index < 12 ? 244 + index : 243 - (index - 12);
  return {
    podCidr: `127.${pod}.0.0/16`,
    serviceCidr: `127.${service}.0.0/16`,
    loadBalancerCidr: `127.100.${index}.0/24`,
    nodeIP: index === 0 ? "127.0.0.1" : `127.100.255.${index}`,
  };
}

/** Slot 0: what a lone cluster uses. */
export const DEFAULT_RANGES: Readonly<AddressRanges> = Object.freeze(rangeSlot(0));

/**
 * The plan that follows from a cluster's ranges. Throws an Error whose message is one sentence
 * when a range is malformed, outside 127.0.0.0/8, too small, or overlaps another of the plan.
 */
export function addressPlan(
  ranges: AddressRanges,
  options: { clusterDomain?: string | undefined } = {},
): AddressPlan {
  const pod = checkRange("pod", ranges.podCidr, 24);
  const service = checkRange("service", ranges.serviceCidr, 28);
  const lb = checkRange("load balancer", ranges.loadBalancerCidr, 30);
  const node = hostCidr(ranges.nodeIP);
  if (node === undefined || !overlaps(LOOPBACK, node)) {
    throw new Error(`node IP ${ranges.nodeIP} is not a loopback address (127.0.0.0/8)`);
  }
  const named: [string, Cidr][] = [
    ["pod CIDR", pod],
    ["service CIDR", service],
    ["load balancer CIDR", lb],
  ];
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [a, ca] = named[i]!;
      const [b, cb] = named[j]!;
      if (overlaps(ca, cb)) throw new Error(`the ${a} ${ca.text} overlaps the ${b} ${cb.text}`);
    }
    const [what, c] = named[i]!;
    if (containsIp(c, ranges.nodeIP)) {
      throw new Error(`the ${what} ${c.text} contains the node IP ${ranges.nodeIP}`);
    }
  }
  const clusterDomain = (options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/\.$/, "");
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain)) {
    throw new Error(`cluster domain "${clusterDomain}" is not a DNS name`);
  }
  return {
    podCidr: pod.text,
    serviceCidr: service.text,
    loadBalancerCidr: lb.text,
    nodeIP: ranges.nodeIP,
    kubernetesServiceIP: nthAddress(service, 1),
    dnsServiceIP: nthAddress(service, 10),
    nodePortRange: { ...NODE_PORT_RANGE },
    clusterDomain,
  };
}

/** The plan of a lone cluster with every default. */
export const DEFAULT_PLAN: Readonly<AddressPlan> = Object.freeze(addressPlan(DEFAULT_RANGES));

/**
 * Which of `a`'s ranges meet which of `b`'s (any kind against any kind: one cluster's pod range
 * must not hold another's service IPs either), as `[a's field, b's field]` pairs; empty when
 * the two can run side by side.
 */
export function rangeOverlaps(
  a: Partial<AddressRanges>,
  b: Partial<AddressRanges>,
): [keyof AddressRanges, keyof AddressRanges][] {
  const out: [keyof AddressRanges, keyof AddressRanges][] = [];
  for (const [fa, ca] of cidrsOf(a)) {
    for (const [fb, cb] of cidrsOf(b)) if (overlaps(ca, cb)) out.push([fa, fb]);
  }
  return out;
}

function cidrsOf(r: Partial<AddressRanges>): [keyof AddressRanges, Cidr][] {
  const out: [keyof AddressRanges, Cidr][] = [];
  for (const field of ["podCidr", "serviceCidr", "loadBalancerCidr", "nodeIP"] as const) {
    const text = r[field];
    if (text === undefined) continue;
    const cidr = tryCidr(text);
    if (cidr) out.push([field, cidr]);
  }
  return out;
}

function tryCidr(text: string): Cidr | undefined {
  if (!text.includes("/")) return hostCidr(text);
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/** One address as a range of one. */
function hostCidr(ip: string): Cidr | undefined {
  const base = ipToNumber(ip);
  return base === undefined ? undefined : { base, prefix: 32, total: 1, text: ip };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.total && b.base < a.base + a.total;
}

function containsIp(c: Cidr, ip: string): boolean {
  const n = ipToNumber(ip);
  return n !== undefined && n >= c.base && n < c.base + c.total;
}

function checkRange(what: string, text: string, smallestPrefix: number): Cidr {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text);
  } catch {
    throw new Error(`${what} CIDR "${text}" is not an IPv4 CIDR such as 127.96.0.0/16`);
  }
  if (cidr.prefix > smallestPrefix) {
    throw new Error(`${what} CIDR ${cidr.text} is too small (/${smallestPrefix} or larger)`);
  }
  if (!(cidr.base >= LOOPBACK.base && cidr.base + cidr.total <= LOOPBACK.base + LOOPBACK.total)) {
    throw new Error(
      `${what} CIDR ${cidr.text} is outside 127.0.0.0/8: loopkube's addresses never leave this machine`,
    );
  }
  if (containsIp(cidr, "127.0.0.1")) {
    throw new Error(`${what} CIDR ${cidr.text} contains 127.0.0.1, the host's own address`);
  }
  return cidr;
}
