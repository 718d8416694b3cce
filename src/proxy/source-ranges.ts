/**
 * `spec.loadBalancerSourceRanges` as kube-proxy reads it: the source addresses allowed to reach a
 * LoadBalancer Service through its load balancer IPs (not its ClusterIP or NodePorts), traffic
 * from anywhere else dropped.
 *
 * Contract:
 * - Entries are trimmed (validation lets whitespace padding through) and only IPv4 CIDRs count
 *   (this proxy is IPv4); an IPv6 or unparsable entry is ignored, as kube-proxy ignores the
 *   other family's. No IPv4 entry left, or a zero-masked one (`0.0.0.0/0`): no filtering.
 * - When a range holds the node's IP, the Service's load balancer IPs themselves are allowed
 *   too (kube-proxy's `allowFromNode`: a node reaching a VIP bound locally comes from the VIP).
 * - Only the spec field counts, as for kube-proxy; the legacy annotation is validated by the API
 *   server but read by cloud providers only.
 *
 * @module
 */
import { ipToNumber, numberToIp } from "../api/cidr.ts";

export interface SourceRanges {
  /** Normalized IPv4 CIDRs (`10.0.0.0/8`), host bits cleared. */
  cidrs: string[];
  /** A range holds the node's IP: the load balancer IPs may reach themselves. */
  allowNode: boolean;
}

interface V4Net {
  base: number;
  size: number;
}

function parseV4Cidr(text: string): V4Net | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (m === null) return undefined;
  const ip = ipToNumber(m[1] ?? "");
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), size };
}

const contains = (net: V4Net, ip: string) => {
  const n = ipToNumber(ip);
  return n !== undefined && n >= net.base && n < net.base + net.size;
};

/** The ranges of a Service's spec, or undefined when they do not restrict anything. */
export function sourceRangesOf(
  ranges: readonly string[] | undefined,
  nodeIP: string,
): SourceRanges | undefined {
  const nets = (ranges ?? []).flatMap((r) => {
    const net = parseV4Cidr(r.trim());
    return net === undefined ? [] : [net];
  });
  if (nets.length === 0 || nets.some((n) => n.size === 2 ** 32)) return undefined;
  const cidrs = [...new Set(nets.map((n) => `${numberToIp(n.base)}/${32 - Math.log2(n.size)}`))];
  return { cidrs, allowNode: nets.some((n) => contains(n, nodeIP)) };
}

/** The sources allowed to reach `lbIps` (CIDRs and addresses), as nft set elements. */
export function allowedSources(ranges: SourceRanges, lbIps: readonly string[]): string[] {
  return [...ranges.cidrs, ...(ranges.allowNode ? lbIps : [])];
}

/** Whether `clientIp` may reach the load balancer IP `lbIp` (undefined ranges: anyone). */
export function sourceAllowed(
  ranges: SourceRanges | undefined,
  clientIp: string,
  lbIp: string,
): boolean {
  if (ranges === undefined) return true;
  const ip = clientIp.startsWith("::ffff:") ? clientIp.slice(7) : clientIp;
  if (ranges.allowNode && ip === lbIp) return true;
  return ranges.cidrs.some((c) => {
    const net = parseV4Cidr(c);
    return net !== undefined && contains(net, ip);
  });
}
