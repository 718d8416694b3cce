/**
 * A rate-limited work queue of keys with client-go's guarantees (util/workqueue):
 *
 * - Fair: keys are processed in the order they were added.
 * - Deduplicating: a key added N times before a worker takes it is processed once.
 * - Exclusive: a key is never handed to two workers at once. A key added while it is being
 *   processed is held back ("dirty") and queued again when the worker calls `done`, so it runs
 *   exactly once more afterwards.
 * - Delayed adds (`addAfter`): a key waiting for several delays keeps the earliest one.
 * - Rate-limited adds (`addRateLimited`): the delay comes from the rate limiter, by default
 *   client-go's controller limiter (per-key 5 ms·2^n up to 1000 s, overall 10 qps burst 100);
 *   `forget` resets a key's back-off, `numRequeues` reports it.
 * - Shutdown: after `shutDown` adds are ignored, pending delays are cancelled, and `get` keeps
 *   handing out keys already queued, then answers `shutdown: true` to every caller.
 *   `shutDownWithDrain` also waits until every key being processed is `done`.
 *
 * Every worker must call `done(key)` for each key it got, whatever the outcome.
 *
 * @module
 */
import { type Clock, realClock } from "./clock.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./ratelimit.ts";

export type QueueItem<K> = { key: K; shutdown: false } | { key: undefined; shutdown: true };

export interface WorkQueueOptions<K> {
  clock?: Clock;
  rateLimiter?: RateLimiter<K>;
}

export class WorkQueue<K = string> {
  private readonly clock: Clock;
  private readonly limiter: RateLimiter<K>;
  /** Keys ready for a worker, in order; every key here is also in `dirty`. */
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting = new Map<K, { readyAt: number; cancel: () => void }>();
  private readonly getters: ((item: QueueItem<K>) => void)[] = [];
  private drainers: (() => void)[] = [];
  private shutting = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.clock = options.clock ?? realClock;
    this.limiter = options.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  add(key: K): void {
    if (this.shutting || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Adds `key` once `ms` have passed; a non-positive delay adds it now. */
  addAfter(key: K, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    existing?.cancel();
    const cancel = this.clock.after(ms, () => {
      this.waiting.delete(key);
      this.add(key);
    });
    this.waiting.set(key, { readyAt, cancel });
  }

  addRateLimited(key: K): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Stops tracking `key`'s failures: its next `addRateLimited` starts from the base delay. */
  forget(key: K): void {
    this.limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key to process; waits while the queue is empty and not shut down. */
  get(): Promise<QueueItem<K>> {
    return new Promise((resolve) => {
      this.getters.push(resolve);
      this.dispatch();
    });
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.dispatch();
    }
    if (this.processing.size === 0) {
      const drainers = this.drainers;
      this.drainers = [];
      for (const d of drainers) d();
    }
  }

  /** Keys ready for a worker (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.queue.length;
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  shutDown(): void {
    if (!this.shutting) {
      this.shutting = true;
      for (const w of this.waiting.values()) w.cancel();
      this.waiting.clear();
    }
    this.dispatch();
  }

  /** Shuts down, then resolves once no key is being processed. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private dispatch(): void {
    while (this.getters.length > 0) {
      if (this.queue.length === 0) {
        if (!this.shutting) return;
        this.getters.shift()!({ key: undefined, shutdown: true });
        continue;
      }
      const key = this.queue.shift()!;
      this.processing.add(key);
      this.dirty.delete(key);
      this.getters.shift()!({ key, shutdown: false });
    }
  }
}

export function createWorkQueue<K = string>(options?: WorkQueueOptions<K>): WorkQueue<K> {
  return new WorkQueue<K>(options);
}
