/**
 * Encoded-answer cache. An entry is the full (untruncated) wire response for one exact
 * question (name bytes as received, so the echoed case is right), keyed also by whether the
 * query carried EDNS. Entries are tagged with what they depend on (see DnsView change tags)
 * and dropped the moment the view changes one of those tags, so a hit is always what the
 * answerer would compute now. The SOA serial is re-stamped on every hit.
 *
 * Bounded: past `maxEntries` the oldest entry goes first (Map insertion order).
 *
 * @module
 */
import type { Message } from "./wire/message.ts";

export interface CacheEntry {
  /** Response with ID 0; copied and patched per query. */
  bytes: Buffer;
  serialOffsets: number[];
  /**
   * The decoded response, for re-encoding with truncation when it does not fit; kept only for
   * answers over 512 bytes (a smaller one fits every limit), which spares most entries the
   * record objects (a third of the cache's memory).
   */
  message?: Message;
  /** A negative answer (NXDOMAIN, or no answer records): CoreDNS's cache type `denial`. */
  denial?: boolean;
}

export class AnswerCache {
  private readonly entries = new Map<string, { entry: CacheEntry; tags: readonly string[] }>();
  private readonly byTag = new Map<string, Set<string>>();
  private denials = 0;

  constructor(private readonly maxEntries = 20000) {}

  get size(): number {
    return this.entries.size;
  }

  /** Entries by CoreDNS's cache type: `denial` (negative answers) and `success`. */
  get types(): { success: number; denial: number } {
    return { success: this.entries.size - this.denials, denial: this.denials };
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key)?.entry;
  }

  set(key: string, entry: CacheEntry, tags: readonly string[]): void {
    if (this.maxEntries <= 0) return;
    this.remove(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.remove(oldest);
    }
    this.entries.set(key, { entry, tags });
    if (entry.denial) this.denials++;
    for (const t of tags) {
      const set = this.byTag.get(t);
      if (set) set.add(key);
      else this.byTag.set(t, new Set([key]));
    }
  }

  invalidate(tags: readonly string[]): void {
    for (const t of tags) {
      if (t === "*") {
        this.clear();
        return;
      }
      const keys = this.byTag.get(t);
      if (!keys) continue;
      for (const k of [...keys]) this.remove(k);
    }
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.entry.denial) this.denials--;
    for (const t of e.tags) {
      const set = this.byTag.get(t);
      if (!set) continue;
      set.delete(key);
      if (set.size === 0) this.byTag.delete(t);
    }
  }

  clear(): void {
    this.entries.clear();
    this.byTag.clear();
    this.denials = 0;
  }
}
