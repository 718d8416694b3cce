/**
 * The watch machinery both backends share: a bounded window of the latest events (a ring buffer,
 * like kube-apiserver's watch cache) plus the fan-out to watchers.
 *
 * Invariants:
 * - Events are recorded in strictly increasing revision order; the window keeps the latest
 *   `capacity` of them.
 * - `oldest()` is the smallest `fromRevision` a watch may start from: the revision just before
 *   the oldest event kept, or the current revision when the window is empty (a new or reopened
 *   store: history before the open is not kept). An older one throws `Expired` with kube's
 *   wording, `too old resource version: <rv> (<oldest>)`.
 * - A watch first receives the window's events after `fromRevision` under its prefix, then live
 *   ones, with no gap and no duplicate: both happen synchronously with respect to writers.
 *
 * @module
 */
import { Fanout } from "./_fanout.ts";
import { StoreError, type StoreEvent, type StoreWatch, type WatchOptions } from "./types.ts";

export interface WindowOptions {
  /** Events kept for watches that start in the past. */
  capacity: number;
  /** Default bound of a watcher's undelivered events. */
  maxBacklog: number;
  /** The store's revision when the window starts (no events before it are known). */
  revision: number;
}

export class EventWindow {
  private readonly ring: Array<StoreEvent | undefined>;
  private readonly capacity: number;
  private readonly maxBacklog: number;
  /** Index of the oldest event. */
  private start = 0;
  private length = 0;
  private revision: number;
  private readonly fanout = new Fanout(() => this.revision);

  constructor(options: WindowOptions) {
    if (!(options.capacity >= 1)) throw new RangeError("event window capacity must be >= 1");
    this.capacity = options.capacity;
    this.maxBacklog = options.maxBacklog;
    this.revision = options.revision;
    this.ring = new Array(options.capacity);
  }

  /** Number of open watches. */
  get watchers(): number {
    return this.fanout.size;
  }

  oldest(): number {
    if (this.length === 0) return this.revision;
    return this.at(0).revision - 1;
  }

  /** Records a committed write and hands it to the matching watchers. */
  publish(event: StoreEvent): void {
    if (this.length < this.capacity) {
      this.ring[(this.start + this.length) % this.capacity] = event;
      this.length++;
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
    this.revision = event.revision;
    this.fanout.dispatch(event);
  }

  watch(prefix: string, options: WatchOptions): StoreWatch {
    const from = options.fromRevision;
    if (!Number.isSafeInteger(from) || from < 0) {
      throw new RangeError(`fromRevision must be a non-negative integer, got ${from}`);
    }
    const oldest = this.oldest();
    if (from < oldest) {
      throw new StoreError("Expired", `too old resource version: ${from} (${oldest})`);
    }
    const replay: StoreEvent[] = [];
    for (let i = this.firstAfter(from); i < this.length; i++) {
      const event = this.at(i);
      if (event.key.startsWith(prefix)) replay.push(event);
    }
    const maxBacklog = options.maxBacklog ?? this.maxBacklog;
    return this.fanout.add(prefix, { ...options, maxBacklog }, replay);
  }

  closeAll(reason: string): void {
    this.fanout.closeAll(reason);
  }

  private at(i: number): StoreEvent {
    return this.ring[(this.start + i) % this.capacity]!;
  }

  /** Index (0 = oldest) of the first event with a revision above `revision`. */
  private firstAfter(revision: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
