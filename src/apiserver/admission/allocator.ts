/**
 * A bitmap allocator over a contiguous range, banded as kube-apiserver's IP and port allocators
 * are: the low "static" band is left for values users ask for, dynamic allocation takes a random
 * free value from the upper band first and falls back to the low band only when the upper is
 * full. Pure and synchronous; the owner rebuilds it from stored objects on start.
 *
 * @module
 */

export class BandedAllocator {
  readonly size: number;
  readonly staticBand: number;
  private readonly used: Uint8Array;
  private count = 0;
  private readonly random: () => number;

  constructor(size: number, staticBand: number, random: () => number = Math.random) {
    this.size = size;
    this.staticBand = Math.min(staticBand, size);
    this.used = new Uint8Array(size);
    this.random = random;
  }

  has(offset: number): boolean {
    return this.used[offset] === 1;
  }

  /** Takes a specific offset; false if out of range or taken. */
  take(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size || this.used[offset] === 1)
      return false;
    this.used[offset] = 1;
    this.count++;
    return true;
  }

  release(offset: number): void {
    if (offset >= 0 && offset < this.size && this.used[offset] === 1) {
      this.used[offset] = 0;
      this.count--;
    }
  }

  /** A free offset, upper band first; undefined when the range is full. */
  next(): number | undefined {
    if (this.count >= this.size) return undefined;
    return this.scan(this.staticBand, this.size) ?? this.scan(0, this.staticBand);
  }

  /** Random start in [from, to), then linear probing with wrap-around, as kube's allocator does. */
  private scan(from: number, to: number): number | undefined {
    const span = to - from;
    if (span <= 0) return undefined;
    const start = Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      const offset = from + ((start + i) % span);
      if (this.used[offset] === 0) {
        this.used[offset] = 1;
        this.count++;
        return offset;
      }
    }
    return undefined;
  }

  get allocated(): number {
    return this.count;
  }
}

/** kube's static band for service IPs: min(max(16, size/16), 256). */
export function ipStaticBand(size: number): number {
  return Math.min(Math.max(16, Math.floor(size / 16)), 256);
}

/** kube's static band for node ports: min(max(16, size/32), 128). */
export function portStaticBand(size: number): number {
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}
