/**
 * Remembers the slices this controller wrote until its informer has caught up with them, so a
 * reconcile that runs before the watch delivers its own last write neither creates a slice twice
 * nor resurrects a deleted one (kube's endpointSliceTracker plays the same part).
 *
 * @module
 */
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";

function rv(s: EndpointSlice | undefined): number {
  return Number(s?.metadata?.resourceVersion ?? 0);
}

export class SliceTracker {
  /** service key → slice name → the slice as written, or null once deleted. */
  private readonly written = new Map<string, Map<string, EndpointSlice | null>>();

  wrote(serviceKey: string, slice: EndpointSlice): void {
    this.entry(serviceKey).set(slice.metadata?.name ?? "", slice);
  }

  deleted(serviceKey: string, slice: EndpointSlice): void {
    this.entry(serviceKey).set(slice.metadata?.name ?? "", null);
  }

  /**
   * Whether a watch event only echoes this controller's own write (the slice exactly as written,
   * or gone after it deleted it): nothing changed that a reconcile would not already have seen,
   * so the Service need not be queued again (kube's endpointSliceTracker.ShouldSync). Best
   * effort: an echo that arrives before the write call returns is not recognised and costs one
   * reconcile that changes nothing.
   */
  isOwnEcho(serviceKey: string, slice: EndpointSlice, deleted: boolean): boolean {
    const mine = this.written.get(serviceKey);
    const name = slice.metadata?.name ?? "";
    if (!mine?.has(name)) return false;
    const w = mine.get(name);
    return deleted ? w === null : w !== null && w !== undefined && rv(w) === rv(slice);
  }

  /** The informer's slices corrected by what was written since. */
  view(serviceKey: string, cached: EndpointSlice[]): EndpointSlice[] {
    const mine = this.written.get(serviceKey);
    if (!mine) return cached;
    const out = new Map(cached.map((s) => [s.metadata?.name ?? "", s] as const));
    for (const [name, w] of mine) {
      const seen = out.get(name);
      if (w === null) {
        if (seen) out.delete(name);
        else mine.delete(name); // the informer saw the delete
      } else if (!seen || rv(w) > rv(seen)) {
        out.set(name, w);
      } else {
        mine.delete(name); // the informer caught up
      }
    }
    if (mine.size === 0) this.written.delete(serviceKey);
    return [...out.values()];
  }

  forget(serviceKey: string): void {
    this.written.delete(serviceKey);
  }

  private entry(key: string): Map<string, EndpointSlice | null> {
    let m = this.written.get(key);
    if (!m) {
      m = new Map();
      this.written.set(key, m);
    }
    return m;
  }
}
