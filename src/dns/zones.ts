/**
 * Which names the cluster DNS is authoritative for, and how a name inside the cluster zone
 * splits into CoreDNS's request shape `[_port._proto. | endpoint.]service.namespace.(svc|pod)`.
 * All inputs are lower-case presentation names without the trailing dot.
 *
 * @module
 */
import { canonicalIP, parseIPv4, parseIPv6 } from "./wire/ip.ts";

export interface RecordRequest {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  /** "svc", "pod", or "" for the apex, `svc.<zone>` and `pod.<zone>`. */
  podOrSvc: "" | "svc" | "pod";
}

/** null when the name has a shape CoreDNS answers NXDOMAIN for. */
export function parseRequest(base: string): RecordRequest | null {
  const r: RecordRequest = {
    port: "",
    protocol: "",
    endpoint: "",
    service: "",
    namespace: "",
    podOrSvc: "",
  };
  if (base === "" || base === "svc" || base === "pod") return r;
  const segs = base.split(".");
  let last = segs.length - 1;
  const kind = segs[last];
  if (kind !== "svc" && kind !== "pod") return null;
  r.podOrSvc = kind;
  if (--last < 0) return r;
  r.namespace = segs[last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  if (last === 0) {
    r.endpoint = segs[0]!;
  } else if (last === 1) {
    r.protocol = stripUnderscore(segs[1]!);
    r.port = stripUnderscore(segs[0]!);
  } else {
    return null;
  }
  return r;
}

function stripUnderscore(s: string): string {
  return s.startsWith("_") ? s.slice(1) : s;
}

/** `name` relative to `zone` ("" at the apex), or null when outside it. */
export function relativeTo(name: string, zone: string): string | null {
  if (name === zone) return "";
  if (zone === "") return name;
  if (
    name.length > zone.length &&
    name.endsWith(zone) &&
    name[name.length - zone.length - 1] === "."
  ) {
    return name.slice(0, name.length - zone.length - 1);
  }
  return null;
}

/**
 * Reverse zones covering a CIDR: one zone when the prefix sits on an octet (IPv4) or nibble
 * (IPv6) boundary, else every zone of the next boundary down that the CIDR spans.
 */
export function reverseZones(cidr: string): string[] {
  const slash = cidr.indexOf("/");
  if (slash < 0) throw new Error(`not a CIDR: ${cidr}`);
  const ip = cidr.slice(0, slash);
  const prefix = Number(cidr.slice(slash + 1));
  const v4 = parseIPv4(ip);
  if (v4) {
    if (!(prefix >= 0 && prefix <= 32)) throw new Error(`bad prefix in ${cidr}`);
    const octets = Math.ceil(prefix / 8);
    const spread = 2 ** (octets * 8 - prefix);
    const out: string[] = [];
    for (let i = 0; i < spread; i++) {
      const b = [...v4];
      if (octets > 0) b[octets - 1] = (b[octets - 1]! & ~(spread - 1) & 0xff) + i;
      out.push([...b.slice(0, octets).reverse().map(String), "in-addr", "arpa"].join("."));
    }
    return out;
  }
  const v6 = parseIPv6(ip);
  if (!v6) throw new Error(`not a CIDR: ${cidr}`);
  if (!(prefix >= 0 && prefix <= 128)) throw new Error(`bad prefix in ${cidr}`);
  const nibbles: number[] = [];
  for (const byte of v6) nibbles.push(byte >> 4, byte & 0xf);
  const n = Math.ceil(prefix / 4);
  const spread = 2 ** (n * 4 - prefix);
  const out: string[] = [];
  for (let i = 0; i < spread; i++) {
    const nb = nibbles.slice(0, n);
    if (n > 0) nb[n - 1] = (nb[n - 1]! & ~(spread - 1) & 0xf) + i;
    out.push([...nb.reverse().map((x) => x.toString(16)), "ip6", "arpa"].join("."));
  }
  return out;
}

/** The address a full reverse name stands for (canonical text), or null. */
export function addressFromReverse(name: string): string | null {
  if (name.endsWith(".in-addr.arpa")) {
    const parts = name.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4) return null;
    const c = canonicalIP(parts.reverse().join("."));
    return c && c.family === 4 ? c.text : null;
  }
  if (name.endsWith(".ip6.arpa")) {
    const parts = name.slice(0, -".ip6.arpa".length).split(".");
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return null;
    const hex = parts.reverse().join("");
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIP(groups.join(":"))?.text ?? null;
  }
  return null;
}
