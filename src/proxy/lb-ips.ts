/**
 * Allocation of loopback ingress IPs for `type: LoadBalancer` Services.
 *
 * Contract: an IP is given to at most one Service key at a time; a key keeps its IP for as long
 * as it holds one (re-asking returns the same IP). A free IP is chosen in this order: the
 * caller's preference (the IP already written in the Service status, or `spec.loadBalancerIP`)
 * when it lies in the range and is free; otherwise a slot derived from a hash of the key, probing
 * forward on collision. The hash makes the choice stable across restarts even when the
 * preference is lost, and independent of the order in which Services are seen.
 *
 * @module
 */

/** Thrown when a range cannot be parsed or is not IPv4. */
export class InvalidRangeError extends Error {
  override readonly name = "InvalidRangeError";
}

import { numberToIp as intToIpv4, ipToNumber as ipv4ToInt } from "../api/cidr.ts";

/** IPv4 text ↔ number, from the shared address arithmetic. */
export { ipToNumber as ipv4ToInt, numberToIp as intToIpv4 } from "../api/cidr.ts";

/** True for an IPv4 address in 127.0.0.0/8 (Linux routes all of it to the loopback device). */
export function isLoopbackV4(ip: string): boolean {
  const n = ipv4ToInt(ip);
  return n !== undefined && n >>> 24 === 127;
}

/** 32-bit FNV-1a: small, stable, good enough to spread names over a range. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The address of the ingress controller in a load balancer range: its last usable address
 * (`127.100.0.254` in `127.100.0.0/24`), which the Service allocator keeps for it. Undefined for
 * a range too small to spare one (a /31 or /32).
 */
export function ingressAddress(cidr: string): string | undefined {
  const [addr, bits] = cidr.split("/");
  const base = addr === undefined ? undefined : ipv4ToInt(addr);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30)
    return undefined;
  const total = 2 ** (32 - prefix);
  return intToIpv4(base - (base % total) + total - 2);
}

export class LoadBalancerIpAllocator {
  readonly #first: number;
  readonly #size: number;
  readonly #byKey = new Map<string, number>();
  readonly #byIp = new Map<number, string>();

  /**
   * @param cidr an IPv4 range such as `127.100.0.0/24`; network and broadcast are skipped.
   * @param options.reserved addresses never handed out (the ingress controller's).
   */
  constructor(cidr: string, options: { reserved?: readonly string[] } = {}) {
    const [addr, bits] = cidr.split("/");
    const base = addr === undefined ? undefined : ipv4ToInt(addr);
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 32) {
      throw new InvalidRangeError(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
    }
    const total = 2 ** (32 - prefix);
    const network = base - (base % total);
    // A /31 or /32 has no network/broadcast to skip.
    const skip = total > 2 ? 1 : 0;
    this.#first = network + skip;
    this.#size = total - 2 * skip;
    for (const ip of options.reserved ?? []) {
      const n = ipv4ToInt(ip);
      if (n !== undefined && this.contains(ip)) this.#byIp.set(n, "");
    }
  }

  contains(ip: string): boolean {
    const n = ipv4ToInt(ip);
    return n !== undefined && n >= this.#first && n < this.#first + this.#size;
  }

  /** The IP held by `key`, if any. */
  get(key: string): string | undefined {
    const n = this.#byKey.get(key);
    return n === undefined ? undefined : intToIpv4(n);
  }

  /**
   * The IP for `key`: the one it holds, else a new one (see module doc). Returns undefined when
   * the range is exhausted.
   */
  allocate(key: string, options: { prefer?: readonly string[] } = {}): string | undefined {
    const held = this.#byKey.get(key);
    if (held !== undefined) return intToIpv4(held);
    for (const ip of options.prefer ?? []) {
      const n = ipv4ToInt(ip);
      if (n !== undefined && this.contains(ip) && !this.#byIp.has(n)) return this.#take(key, n);
    }
    const start = fnv1a(key) % this.#size;
    for (let i = 0; i < this.#size; i++) {
      const n = this.#first + ((start + i) % this.#size);
      if (!this.#byIp.has(n)) return this.#take(key, n);
    }
    return undefined;
  }

  release(key: string): void {
    const n = this.#byKey.get(key);
    if (n === undefined) return;
    this.#byKey.delete(key);
    this.#byIp.delete(n);
  }

  #take(key: string, n: number): string {
    this.#byKey.set(key, n);
    this.#byIp.set(n, key);
    return intToIpv4(n);
  }
}
