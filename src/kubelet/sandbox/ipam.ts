/**
 * Pod IP allocation from a node's pod CIDR, keyed by `namespace/name`, recorded in the agent's
 * {@link IpJournal} so that a pod keeps its address across agent restarts (a StatefulSet pod that
 * is recreated under the same name gets the same IP back too, until it is released).
 *
 * Invariants: one IP per key; never the network address, the `.1` (kept for the node side of a
 * real bridge) or the broadcast address; an address is free again only after `release`. At open
 * the node takes the journal's entries that lie in its CIDR.
 *
 * @module
 */
import { ipToNumber, numberToIp, parseCidr as parseSharedCidr } from "../../api/cidr.ts";
import { type IpJournal, memoryIpJournal } from "./ipjournal.ts";

export class IpamError extends Error {
  override name = "IpamError";
}

export interface Ipam {
  /** The pod's IP, allocated on first call. `preferred` (e.g. the pod's status.podIP) wins if free. */
  allocate(key: string, preferred?: string): string;
  release(key: string): void;
  get(key: string): string | undefined;
  /** Every allocation, key → IP. */
  entries(): Map<string, string>;
}

export function parseCidr(cidr: string): { base: number; size: number } {
  try {
    const c = parseSharedCidr(cidr);
    return { base: c.base, size: c.total };
  } catch {
    throw new IpamError(`invalid pod CIDR ${JSON.stringify(cidr)}`);
  }
}

export const ipToString = numberToIp;

/**
 * The journal's entries split by the CIDR that holds each (entries in none are left out), in
 * one pass: with 1,432 nodes, each node reading every entry itself was 200 million checks.
 */
export function entriesByCidr(
  entries: ReadonlyMap<string, string>,
  cidrs: readonly string[],
): Map<string, Array<[key: string, ip: string]>> {
  const ranges = cidrs
    .map((cidr) => ({ cidr, ...parseCidr(cidr) }))
    .sort((a, b) => a.base - b.base);
  const out = new Map<string, Array<[string, string]>>(cidrs.map((c) => [c, []]));
  for (const [key, ip] of entries) {
    const n = ipToNumber(ip);
    if (n === undefined) continue;
    // The last range starting at or below n.
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((ranges[mid]?.base ?? 0) <= n) lo = mid;
      else hi = mid - 1;
    }
    const r = ranges[lo];
    if (r && n >= r.base && n < r.base + r.size) out.get(r.cidr)?.push([key, ip]);
  }
  return out;
}

/**
 * `entries`: the journal's entries of this CIDR ({@link entriesByCidr}); by default the
 * journal's own, filtered (fine for one node).
 */
export function openIpam(
  cidr: string,
  options: { journal?: IpJournal; entries?: Iterable<[string, string]> } = {},
): Ipam {
  const { base, size } = parseCidr(cidr);
  const journal = options.journal ?? memoryIpJournal();
  const byKey = new Map<string, number>();
  const used = new Set<number>();
  for (const [key, ip] of options.entries ?? journal.entries()) {
    const n = ipToNumber(ip);
    if (n !== undefined && usable(n) && !used.has(n)) {
      byKey.set(key, n);
      used.add(n);
    }
  }
  // Next candidate offset: allocation walks the range round-robin so that a released address is
  // not handed out again at once (a stale endpoint then points nowhere rather than at a stranger).
  let cursor = 2;

  function usable(n: number): boolean {
    const off = n - base;
    return off >= 2 && off < size - 1;
  }

  return {
    allocate(key, preferred) {
      const have = byKey.get(key);
      if (have !== undefined) return ipToString(have);
      let pick: number | undefined;
      const p = preferred ? ipToNumber(preferred) : undefined;
      if (p !== undefined && usable(p) && !used.has(p)) pick = p;
      for (let i = 0; pick === undefined && i < size; i++) {
        const off = cursor;
        cursor = cursor + 1 >= size - 1 ? 2 : cursor + 1;
        if (!used.has(base + off)) pick = base + off;
      }
      if (pick === undefined) throw new IpamError(`pod CIDR ${cidr} is exhausted`);
      byKey.set(key, pick);
      used.add(pick);
      journal.set(key, ipToString(pick));
      return ipToString(pick);
    },
    release(key) {
      const n = byKey.get(key);
      if (n === undefined) return;
      byKey.delete(key);
      used.delete(n);
      journal.release(key, ipToString(n));
    },
    get(key) {
      const n = byKey.get(key);
      return n === undefined ? undefined : ipToString(n);
    },
    entries() {
      return new Map([...byKey].map(([k, n]) => [k, ipToString(n)]));
    },
  };
}
