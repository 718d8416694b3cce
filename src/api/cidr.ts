/**
 * IPv4 address and CIDR arithmetic for the address plan (service, pod and load-balancer ranges
 * inside 127.0.0.0/8), shared by the API server's allocator, the node agent's IPAM and the proxy.
 *
 * @module
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** Number of addresses, network and broadcast included. */
  total: number;
  text: string;
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(text: string): Cidr {
  const [ip = "", bits = ""] = text.split("/");
  const base = ipToNumber(ip);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30 || bits === "") {
    throw new Error(
      `invalid IPv4 CIDR ${JSON.stringify(text)} (expected e.g. 127.96.0.0/16, prefix 8–30)`,
    );
  }
  const total = 2 ** (32 - prefix);
  const masked = base - (base % total);
  return { base: masked, prefix, total, text: `${numberToIp(masked)}/${prefix}` };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const n = ipToNumber(ip);
  return n !== undefined && n >= cidr.base && n < cidr.base + cidr.total;
}

/** The n-th usable address (1 = first after the network address). */
export function nthAddress(cidr: Cidr, n: number): string {
  return numberToIp(cidr.base + n);
}
