/**
 * Kubernetes' IP and CIDR libraries (`library/ip.go`, `library/cidr.go`): `ip(s)`, `isIP(s)`,
 * `ip.isCanonical(s)`, `family()`, `isUnspecified()`, `isLoopback()`, `isLinkLocalMulticast()`,
 * `isLinkLocalUnicast()`, `isGlobalUnicast()`; `cidr(s)`, `isCIDR(s)`, `containsIP`,
 * `containsCIDR`, `ip()`, `masked()`, `prefixLength()`; `string(ip)`, `string(cidr)`. As kube,
 * IPv4-mapped IPv6 addresses and zones are refused.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { type CelFunc, CelScalar, celFunc, celMethod } from "@bufbuild/cel";
import { CIDR, IP, opaque, textOf } from "../_opaque.ts";

interface Addr {
  family: 4 | 6;
  n: bigint;
}

function v4(s: string): bigint {
  return s.split(".").reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n);
}

function v6(s: string): bigint {
  let text = s;
  let tail = 0n;
  let tailGroups = 0;
  const dot = text.lastIndexOf(".");
  if (dot >= 0) {
    const colon = text.lastIndexOf(":");
    tail = v4(text.slice(colon + 1));
    tailGroups = 2;
    text = `${text.slice(0, colon + 1)}0`;
    text = text.replace(/:0$/, ":");
  }
  const [head = "", rest] = text.split("::");
  const hs = head ? head.split(":") : [];
  const rs = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const missing = 8 - tailGroups - hs.length - rs.length;
  const groups = [...hs, ...Array(rest !== undefined ? missing : 0).fill("0"), ...rs].filter(
    (g) => g !== "",
  );
  let n = 0n;
  for (const g of groups.slice(0, 8 - tailGroups)) n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  return tailGroups ? (n << 32n) | tail : n;
}

/** Parses an address as Go's netip.ParseAddr does, with kube's refusals; throws otherwise. */
export function parseIp(s: string): Addr {
  if (s.includes("%")) throw new Error("IP address with zone value is not allowed");
  if (isIPv4(s) && !/(^|\.)0\d/.test(s)) return { family: 4, n: v4(s) };
  if (isIPv6(s)) {
    const n = v6(s);
    if (n >> 32n === 0xffffn) throw new Error("IPv4-mapped IPv6 addresses are not allowed");
    return { family: 6, n };
  }
  throw new Error(`ParseAddr(${JSON.stringify(s)}): unable to parse IP`);
}

function format(a: Addr): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((sh) => String((a.n >> sh) & 255n)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((a.n >> BigInt(112 - 16 * i)) & 0xffffn),
  );
  // Longest run of zero groups (two or more) becomes "::", as RFC 5952.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

const bits = (a: Addr) => (a.family === 4 ? 32 : 128);

interface Prefix {
  addr: Addr;
  length: number;
}

function parseCidr(s: string): Prefix {
  const slash = s.indexOf("/");
  if (slash < 0)
    throw new Error(
      `network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(s)}): no '/'`,
    );
  const addr = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (!/^\d+$/.test(len) || Number(len) > bits(addr))
    throw new Error(
      `network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(s)}): bad bits after slash: ${JSON.stringify(len)}`,
    );
  return { addr, length: Number(len) };
}

function mask(p: Prefix): bigint {
  const b = BigInt(bits(p.addr));
  return ((1n << b) - 1n) ^ ((1n << (b - BigInt(p.length))) - 1n);
}

function contains(p: Prefix, a: Addr): boolean {
  return p.addr.family === a.family && (p.addr.n & mask(p)) === (a.n & mask(p));
}

const ipOf = (v: unknown) => parseIp(textOf(v));
const cidrOf = (v: unknown) => parseCidr(textOf(v));
const is = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

function ipFrom(s: string) {
  try {
    return opaque(IP, format(parseIp(s)));
  } catch (e) {
    throw new Error(
      `IP Address ${JSON.stringify(s)} parse error during conversion from string: ${(e as Error).message}`,
    );
  }
}

function cidrFrom(s: string) {
  const p = parseCidr(s);
  return opaque(CIDR, `${format(p.addr)}/${p.length}`);
}

const isLinkLocalUnicast = (a: Addr) =>
  a.family === 4 ? a.n >> 16n === 0xa9fen : a.n >> 118n === 0x3fan;
const isLinkLocalMulticast = (a: Addr) =>
  a.family === 4 ? a.n >> 8n === 0xe00000n : a.n >> 112n === 0xff02n;
const isLoopback = (a: Addr) => (a.family === 4 ? a.n >> 24n === 127n : a.n === 1n);
const isMulticast = (a: Addr) => (a.family === 4 ? a.n >> 28n === 0xen : a.n >> 120n === 0xffn);

export const NET: CelFunc[] = [
  celFunc("ip", [CelScalar.STRING], IP, ipFrom),
  celFunc("isIP", [CelScalar.STRING], CelScalar.BOOL, (s) => is(() => parseIp(s))),
  celFunc("ip.isCanonical", [CelScalar.STRING], CelScalar.BOOL, (s) => {
    try {
      return format(parseIp(s)) === s;
    } catch (e) {
      throw new Error(
        `IP Address ${JSON.stringify(s)} parse error during conversion from string: ${(e as Error).message}`,
      );
    }
  }),
  celFunc("string", [IP], CelScalar.STRING, (v) => textOf(v)),
  celMethod("family", IP, [], CelScalar.INT, function () {
    return BigInt(ipOf(this).family);
  }),
  celMethod("isUnspecified", IP, [], CelScalar.BOOL, function () {
    return ipOf(this).n === 0n;
  }),
  celMethod("isLoopback", IP, [], CelScalar.BOOL, function () {
    return isLoopback(ipOf(this));
  }),
  celMethod("isLinkLocalMulticast", IP, [], CelScalar.BOOL, function () {
    return isLinkLocalMulticast(ipOf(this));
  }),
  celMethod("isLinkLocalUnicast", IP, [], CelScalar.BOOL, function () {
    return isLinkLocalUnicast(ipOf(this));
  }),
  celMethod("isGlobalUnicast", IP, [], CelScalar.BOOL, function () {
    const a = ipOf(this);
    if (a.n === 0n || isLoopback(a) || isMulticast(a) || isLinkLocalUnicast(a)) return false;
    return !(a.family === 4 && a.n === 0xffffffffn);
  }),
  celFunc("cidr", [CelScalar.STRING], CIDR, cidrFrom),
  celFunc("isCIDR", [CelScalar.STRING], CelScalar.BOOL, (s) => is(() => parseCidr(s))),
  celFunc("string", [CIDR], CelScalar.STRING, (v) => textOf(v)),
  celMethod("containsIP", CIDR, [IP], CelScalar.BOOL, function (ip) {
    return contains(cidrOf(this), ipOf(ip));
  }),
  celMethod("containsIP", CIDR, [CelScalar.STRING], CelScalar.BOOL, function (s) {
    return contains(cidrOf(this), parseIp(s));
  }),
  celMethod("containsCIDR", CIDR, [CIDR], CelScalar.BOOL, function (c) {
    const outer = cidrOf(this);
    const inner = cidrOf(c);
    return inner.length >= outer.length && contains(outer, inner.addr);
  }),
  celMethod("containsCIDR", CIDR, [CelScalar.STRING], CelScalar.BOOL, function (s) {
    const outer = cidrOf(this);
    const inner = parseCidr(s);
    return inner.length >= outer.length && contains(outer, inner.addr);
  }),
  celMethod("ip", CIDR, [], IP, function () {
    return opaque(IP, format(cidrOf(this).addr));
  }),
  celMethod("masked", CIDR, [], CIDR, function () {
    const p = cidrOf(this);
    return opaque(CIDR, `${format({ family: p.addr.family, n: p.addr.n & mask(p) })}/${p.length}`);
  }),
  celMethod("prefixLength", CIDR, [], CelScalar.INT, function () {
    return BigInt(cidrOf(this).length);
  }),
];
