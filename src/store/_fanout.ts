/**
 * Watcher fan-out: per-watcher event queues drained asynchronously, so a writer never runs
 * consumer code and never waits for it.
 *
 * - `dispatch` (called by the writer, synchronously) only appends the event to the queue of each
 *   watcher whose prefix matches and schedules one drain (a microtask) for all of them.
 * - A watcher whose queue grows past its bound is closed on the spot: its queue is dropped and
 *   `onClose("too slow")` follows asynchronously; the consumer must re-list.
 * - The drain delivers each queue in order. A consumer callback that throws closes only that watch
 *   (reason "watcher failed: …"); stop() inside a callback stops delivery at once; callbacks that
 *   write to the store see their own events delivered in the same drain.
 * - Closing a watch (too slow, store closed) drops what it had not yet received.
 * - Flow control: `pause()` stops delivery (events keep queueing, the bound still applies to the
 *   live ones: the initial replay never counts against it), `resume()` delivers what queued.
 * - `progress()` is a revision up to which every event under the prefix has been delivered: the
 *   store's revision while nothing waits, else the last delivered one (what a bookmark may carry).
 * - Watchers with a prefix ending in "/" are found by the key's own "/"-prefixes (O(depth) per
 *   event, whatever the number of watchers); others are matched one by one.
 *
 * @module
 */
import type { StoreEvent, StoreWatch, WatchOptions } from "./types.ts";

type State = "open" | "closing" | "done";

export class Watcher implements StoreWatch {
  readonly prefix: string;
  private queue: StoreEvent[];
  private head = 0;
  /** Index in `queue` where live events start (the replay comes before it). */
  private liveFrom: number;
  private paused = false;
  /** The revision of the last event handed to the consumer. */
  private delivered: number;
  private state: State = "open";
  private reason = "";

  constructor(
    private readonly fanout: Fanout,
    prefix: string,
    private readonly options: WatchOptions & { maxBacklog: number },
    replay: StoreEvent[],
  ) {
    this.prefix = prefix;
    this.queue = replay;
    this.liveFrom = replay.length;
    this.delivered = options.fromRevision;
  }

  push(event: StoreEvent): void {
    // A watch may start ahead of the store (a client's revision from a newer store): it waits.
    if (this.state !== "open" || event.revision <= this.options.fromRevision) return;
    this.queue.push(event);
    if (this.queue.length - Math.max(this.head, this.liveFrom) > this.options.maxBacklog) {
      this.close("too slow");
    } else if (!this.paused) this.fanout.markDirty(this);
  }

  /** Holds delivery until `resume()`; events keep queueing up to the bound. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.state === "open" && this.head < this.queue.length) this.fanout.markDirty(this);
  }

  progress(): number {
    const caughtUp = this.state === "open" && this.head === this.queue.length;
    return Math.max(this.delivered, caughtUp ? this.fanout.revision() : 0);
  }

  /** Ends the watch from the store's side; `onClose(reason)` follows asynchronously. */
  close(reason: string): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.reason = reason;
    this.queue = [];
    this.head = 0;
    this.fanout.remove(this);
    this.fanout.markDirty(this);
  }

  stop(): void {
    this.state = "done";
    this.queue = [];
    this.head = 0;
    this.fanout.remove(this);
  }

  /** Delivers what is queued; called by the drain only. */
  flush(): void {
    while (this.state === "open" && !this.paused && this.head < this.queue.length) {
      const event = this.queue[this.head++]!;
      this.delivered = event.revision;
      try {
        this.options.onEvent(event);
      } catch (err) {
        this.close(`watcher failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (this.state === "open") {
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        this.liveFrom = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        // Paused part-way: drop the delivered front so a long pause-resume dance stays bounded.
        this.queue = this.queue.slice(this.head);
        this.liveFrom = Math.max(0, this.liveFrom - this.head);
        this.head = 0;
      }
    } else if (this.state === "closing") {
      this.state = "done";
      const onClose = this.options.onClose;
      if (onClose) {
        try {
          onClose(this.reason);
        } catch (err) {
          // Nothing here can handle it: surface it as an uncaught error, outside the drain.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }
}

export class Fanout {
  /** The store's current revision. */
  readonly revision: () => number;
  /** Watchers whose prefix ends in "/", by prefix. */
  private readonly byPrefix = new Map<string, Set<Watcher>>();
  private readonly others = new Set<Watcher>();
  private readonly dirty = new Set<Watcher>();
  private scheduled = false;

  constructor(revision: () => number) {
    this.revision = revision;
  }

  get size(): number {
    let n = this.others.size;
    for (const set of this.byPrefix.values()) n += set.size;
    return n;
  }

  add(
    prefix: string,
    options: WatchOptions & { maxBacklog: number },
    replay: StoreEvent[],
  ): Watcher {
    const w = new Watcher(this, prefix, options, replay);
    if (prefix.endsWith("/")) {
      let set = this.byPrefix.get(prefix);
      if (!set) {
        set = new Set();
        this.byPrefix.set(prefix, set);
      }
      set.add(w);
    } else {
      this.others.add(w);
    }
    if (replay.length > 0) this.markDirty(w);
    return w;
  }

  remove(w: Watcher): void {
    if (w.prefix.endsWith("/")) {
      const set = this.byPrefix.get(w.prefix);
      if (set?.delete(w) && set.size === 0) this.byPrefix.delete(w.prefix);
    } else {
      this.others.delete(w);
    }
  }

  dispatch(event: StoreEvent): void {
    const key = event.key;
    for (const w of this.others) if (key.startsWith(w.prefix)) w.push(event);
    if (this.byPrefix.size === 0) return;
    for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) {
      const set = this.byPrefix.get(key.slice(0, i + 1));
      if (set) for (const w of set) w.push(event);
    }
  }

  /** Closes every watcher (store closed). */
  closeAll(reason: string): void {
    const all = [...this.others];
    for (const set of this.byPrefix.values()) all.push(...set);
    for (const w of all) w.close(reason);
  }

  markDirty(w: Watcher): void {
    this.dirty.add(w);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    // A Set visits entries added while iterating, so events written by callbacks are delivered
    // in this same drain.
    for (const w of this.dirty) {
      this.dirty.delete(w);
      w.flush();
    }
    this.scheduled = false;
  }
}
