/**
 * Pod IP allocation from the node's pod CIDR, persisted in `<dataDir>/pod-ips.json` keyed by
 * `namespace/name`, so that a pod keeps its address across agent restarts (a StatefulSet pod that
 * is recreated under the same name gets the same IP back too, until it is released).
 *
 * Invariants: one IP per key; never the network address, the `.1` (kept for the node side of a
 * real bridge) or the broadcast address; an address is free again only after `release`.
 * Writes are atomic (write to a temporary file, then rename), so a `kill -9` leaves either the
 * old or the new map. Changes are written together, at most once per `FLUSH_MS` (`flush()` writes
 * at once; the agent flushes on stop): a node starting 110 pods, or a burst of pods at scale,
 * then costs one write and one rename a second instead of one per pod (a rename per pod was a
 * tenth of the CPU of a 15,000-pod run, one per node every 200 ms still 12 %). A `kill -9` inside that window loses at most its allocations; the
 * pods' own `status.podIP` (passed back as `preferred`) still gives them their addresses again.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ipToNumber, numberToIp, parseCidr as parseSharedCidr } from "../api/cidr.ts";

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
  /** Writes pending changes now (they are written at the end of the turn anyway). */
  flush(): void;
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

/** Longest time an allocation waits before it is written to `pod-ips.json`. */
export const FLUSH_MS = 1000;

export function openIpam(cidr: string, options: { dataDir?: string } = {}): Ipam {
  const { base, size } = parseCidr(cidr);
  const file = options.dataDir ? join(options.dataDir, "pod-ips.json") : undefined;
  const byKey = new Map<string, number>();
  const used = new Set<number>();
  if (file && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    for (const [key, ip] of Object.entries(saved)) {
      const n = ipToNumber(ip);
      if (n !== undefined && usable(n) && !used.has(n)) {
        byKey.set(key, n);
        used.add(n);
      }
    }
  }
  // Next candidate offset: allocation walks the range round-robin so that a released address is
  // not handed out again at once (a stale endpoint then points nowhere rather than at a stranger).
  let cursor = 2;

  function usable(n: number): boolean {
    const off = n - base;
    return off >= 2 && off < size - 1;
  }

  let pending: NodeJS.Timeout | undefined;
  const save = () => {
    if (!file || pending) return;
    pending = setTimeout(write, FLUSH_MS);
    pending.unref?.();
  };
  const write = () => {
    if (pending) clearTimeout(pending);
    pending = undefined;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    const out: Record<string, string> = {};
    for (const [k, n] of byKey) out[k] = ipToString(n);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out));
    renameSync(tmp, file);
  };

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
      save();
      return ipToString(pick);
    },
    release(key) {
      const n = byKey.get(key);
      if (n === undefined) return;
      byKey.delete(key);
      used.delete(n);
      save();
    },
    get(key) {
      const n = byKey.get(key);
      return n === undefined ? undefined : ipToString(n);
    },
    entries() {
      return new Map([...byKey].map(([k, n]) => [k, ipToString(n)]));
    },
    flush() {
      if (pending) write();
    },
  };
}
