/**
 * Several simulated nodes served by one agent (like kwok): their names and their pod CIDRs.
 *
 * Names: the first node keeps the cluster's node name, the others are `<name>-2` … `<name>-N`,
 * so a one-node cluster looks exactly as before. Pod CIDRs: one node has the whole pod CIDR; N
 * nodes split it into N equal blocks (the next power of two), as kube-controller-manager's
 * node IPAM hands each node its own `spec.podCIDR`. A block must hold a node's 110 pods.
 *
 * @module
 */
import { numberToIp, parseCidr } from "../api/cidr.ts";

/** The kubelet's default maxPods. */
export const DEFAULT_MAX_PODS = 110;

export class NodesError extends Error {
  override name = "NodesError";
}

export function nodeNames(first: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new NodesError(`node count ${count} is not a whole number of at least 1`);
  }
  return Array.from({ length: count }, (_, i) => (i === 0 ? first : `${first}-${i + 1}`));
}

/** The pod CIDR of each of `count` nodes, in node order. */
export function nodePodCidrs(podCidr: string, count: number): string[] {
  if (count === 1) return [podCidr];
  const c = parseCidr(podCidr);
  const extraBits = Math.ceil(Math.log2(count));
  const prefix = c.prefix + extraBits;
  // 110 pods plus the network, `.1` and broadcast addresses need a /25 at least.
  if (prefix > 25) {
    throw new NodesError(
      `pod CIDR ${podCidr} is too small for ${count} nodes of ${DEFAULT_MAX_PODS} pods: ` +
        `each would get a /${prefix}; use a /${25 - extraBits} or larger`,
    );
  }
  const size = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, i) => `${numberToIp(c.base + i * size)}/${prefix}`);
}
