/**
 * An informer: a local, indexed copy of one resource kept current by list + watch, with event
 * handlers (client-go's reflector + DeltaFIFO + shared informer, in one small loop).
 *
 * Contract:
 * - `start()` lists (pages of 500 with `continue`), replaces the cache, then watches from the
 *   list's resourceVersion with bookmarks. `hasSynced()` turns true once the first list is in
 *   the cache and its handlers have run.
 * - A relist reconciles the cache as client-go's DeltaFIFO `Replace` does: objects that
 *   vanished get `onDelete` with their last known state, changed objects (another
 *   resourceVersion) get `onUpdate(old, new)`, new ones `onAdd`.
 * - 410 Expired (an ERROR event with code 410, or a watch call that throws one) → relist.
 *   A watch that closes → watch again from the last resourceVersion seen (bookmarks included).
 *   Any other error → back off (`backoff(attempt)`, on the injected clock) and retry the step
 *   that failed: a failed list lists again, a failed watch watches again.
 * - Handlers run synchronously in the informer's loop, in event order; they should be quick
 *   (enqueue a key). A throwing handler is reported through `onError` and never stops the loop.
 *   A handler added after objects are cached gets `onAdd` for each of them first.
 * - `resyncMs` re-delivers every cached object as `onUpdate(obj, obj)` that often.
 *
 * Cached objects are shared with every reader: never mutate them, copy first.
 *
 * @module
 */
import { isStatusError, type Status, StatusError } from "../api/errors.ts";
import { type KubeList, type KubeObject, objectKey, type WatchEvent } from "../api/types.ts";
import type { ApiVerbs, ListOptions, ResourceRef, WatchHandle } from "../api/verbs.ts";
import { IndexedCache, type IndexFunc, NAMESPACE_INDEX } from "./_cache.ts";
import { type Clock, realClock, sleep } from "./clock.ts";

export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type InformerPhase = "list" | "watch" | "handler";

export interface InformerOptions {
  /** `""` or absent: every namespace (and the only choice for cluster-scoped resources). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often; 0 or absent: never. */
  resyncMs?: number;
  /** Page size of the list; default 500. */
  pageSize?: number;
  clock?: Clock;
  /** Delay before retry `attempt` (1, 2, …) after an error; default 800 ms doubling to 30 s. */
  backoff?: (attempt: number) => number;
  /** Told about list/watch failures and handler exceptions; the informer carries on. */
  onError?: (error: unknown, phase: InformerPhase) => void;
}

export interface InformerStats {
  lists: number;
  watches: number;
  relistsAfterExpired: number;
  listErrors: number;
  watchErrors: number;
  handlerErrors: number;
}

export interface Informer<T extends KubeObject = KubeObject> {
  /** Registers handlers; returns a function that removes them. */
  addHandlers(handlers: EventHandlers<T>): () => void;
  start(): void;
  /** Stops watching; resolves when the loop has ended. The cache stays readable. */
  stop(): Promise<void>;
  hasSynced(): boolean;
  /** Resolves on the first sync; rejects if the informer is stopped before. */
  waitForSync(): Promise<void>;
  get(namespace: string, name: string): T | undefined;
  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects (in `namespace`, or all when `""`) whose labels satisfy `matches`. */
  listBySelector(namespace: string, matches: (labels: Record<string, string>) => boolean): T[];
  /** Adds a named index; `byIndex(name, value)` then lists the objects that yield `value`. */
  index(name: string, fn: IndexFunc<T>): void;
  byIndex(name: string, value: string): T[];
  /** The resourceVersion the cache is current to. */
  lastSyncResourceVersion(): string;
  stats(): InformerStats;
}

export type { IndexFunc } from "./_cache.ts";
export { labelIndex, NAMESPACE_INDEX } from "./_cache.ts";

const DEFAULT_PAGE_SIZE = 500;

export function defaultInformerBackoff(attempt: number): number {
  return Math.min(800 * 2 ** Math.max(0, attempt - 1), 30_000);
}

type WatchOutcome =
  | { kind: "closed"; events: number }
  | { kind: "expired" }
  | { kind: "error"; error: unknown };

export function createInformer<T extends KubeObject = KubeObject>(
  client: ApiVerbs,
  ref: ResourceRef,
  options: InformerOptions = {},
): Informer<T> {
  return new InformerImpl<T>(client, ref, options);
}

class InformerImpl<T extends KubeObject> implements Informer<T> {
  private readonly cache = new IndexedCache<T>();
  private readonly handlers = new Set<EventHandlers<T>>();
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly backoff: (attempt: number) => number;
  private readonly counters: InformerStats = {
    lists: 0,
    watches: 0,
    relistsAfterExpired: 0,
    listErrors: 0,
    watchErrors: 0,
    handlerErrors: 0,
  };
  private rv = "";
  private synced = false;
  private started = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private currentWatch: WatchHandle | undefined;
  private loop: Promise<void> = Promise.resolve();
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private cancelResync: (() => void) | undefined;

  constructor(
    private readonly client: ApiVerbs,
    private readonly ref: ResourceRef,
    private readonly options: InformerOptions,
  ) {
    this.namespace = options.namespace ?? "";
    this.clock = options.clock ?? realClock;
    this.backoff = options.backoff ?? defaultInformerBackoff;
  }

  addHandlers(handlers: EventHandlers<T>): () => void {
    this.handlers.add(handlers);
    for (const obj of this.cache.values()) this.call(() => handlers.onAdd?.(obj));
    return () => {
      this.handlers.delete(handlers);
    };
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abort.abort();
      this.currentWatch?.stop();
      this.cancelResync?.();
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w.reject(new Error("informer stopped before it synced"));
    }
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error("informer stopped before it synced"));
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    return namespace ? this.cache.byIndex(NAMESPACE_INDEX, namespace) : this.cache.values();
  }

  listBySelector(namespace: string, matches: (labels: Record<string, string>) => boolean): T[] {
    return this.list(namespace).filter((o) => matches(o.metadata.labels ?? {}));
  }

  index(name: string, fn: IndexFunc<T>): void {
    // An index function is user code running inside the loop, like a handler: a throw leaves
    // the object out of that index and is reported, instead of breaking the cache update.
    this.cache.addIndex(
      name,
      (obj) => {
        try {
          return fn(obj);
        } catch (error) {
          this.counters.handlerErrors++;
          this.report(error, "handler");
          return [];
        }
      },
      fn,
    );
  }

  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }

  lastSyncResourceVersion(): string {
    return this.rv;
  }

  stats(): InformerStats {
    return { ...this.counters };
  }

  // ---- the loop ------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let attempt = 0;
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
          attempt = 0;
        } catch (error) {
          if (this.stopped) return;
          this.counters.listErrors++;
          this.report(error, "list");
          await sleep(this.clock, this.backoff(++attempt), this.abort.signal);
          continue;
        }
      }
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome.kind === "expired") {
        this.counters.relistsAfterExpired++;
        needList = true;
      } else if (outcome.kind === "error") {
        this.counters.watchErrors++;
        this.report(outcome.error, "watch");
        await sleep(this.clock, this.backoff(++attempt), this.abort.signal);
      } else if (outcome.events > 0) {
        attempt = 0;
      } else {
        // A watch that closed without a single event: do not spin against the server.
        await sleep(this.clock, this.backoff(++attempt), this.abort.signal);
      }
    }
  }

  private async listAndReplace(): Promise<void> {
    this.counters.lists++;
    const base: ListOptions = {};
    if (this.options.labelSelector) base.labelSelector = this.options.labelSelector;
    if (this.options.fieldSelector) base.fieldSelector = this.options.fieldSelector;
    const pageSize = this.options.pageSize ?? DEFAULT_PAGE_SIZE;
    const items: T[] = [];
    let rv = "";
    let cont: string | undefined;
    for (;;) {
      const opts: ListOptions = { ...base, limit: pageSize };
      if (cont) opts.continue = cont;
      let page: KubeList | undefined;
      try {
        page = await this.untilStopped(this.client.list(this.ref, this.namespace, opts));
      } catch (error) {
        // An expired continue token: fall back to one unpaged list, as client-go's pager does.
        if (cont && isStatusError(error) && error.code === 410) {
          items.length = 0;
          page = await this.untilStopped(this.client.list(this.ref, this.namespace, base));
          cont = undefined;
        } else throw error;
      }
      if (!page) return;
      // The first page's revision is the list's; later pages are read at that same revision.
      if (!cont) rv = page.metadata.resourceVersion;
      const kind = page.kind.endsWith("List") ? page.kind.slice(0, -4) : undefined;
      for (const item of page.items) {
        // List items come without apiVersion/kind; watch events carry them. Keep the cache uniform.
        if (kind && item.kind === undefined) item.kind = kind;
        if (item.apiVersion === undefined) item.apiVersion = page.apiVersion;
        items.push(item as T);
      }
      cont = page.metadata.continue || undefined;
      if (!cont) break;
      if (this.stopped) return;
    }
    if (this.stopped) return;
    this.replace(items, rv);
  }

  /** `call`'s result, or undefined as soon as the informer is stopped (a list can hang). */
  private untilStopped<R>(call: Promise<R>): Promise<R | undefined> {
    call.catch(() => {}); // a failure still reaches the caller through the race when it wins
    if (this.stopped) return Promise.resolve(undefined);
    let onAbort = () => {};
    const stopped = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      this.abort.signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([call, stopped]).finally(() => {
      this.abort.signal.removeEventListener("abort", onAbort);
    });
  }

  private replace(items: T[], rv: string): void {
    const fresh = new Map<string, T>();
    for (const item of items) fresh.set(objectKey(item), item);
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      if (!old) {
        this.cache.set(obj);
        this.emit((h) => h.onAdd?.(obj));
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.cache.set(obj);
        this.emit((h) => h.onUpdate?.(old, obj));
      }
    }
    for (const key of this.cache.keys()) {
      if (fresh.has(key)) continue;
      const old = this.cache.delete(key)!;
      this.emit((h) => h.onDelete?.(old));
    }
    this.rv = rv;
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w.resolve();
      this.scheduleResync();
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    this.counters.watches++;
    return new Promise<WatchOutcome>((resolve) => {
      let outcome: WatchOutcome | undefined;
      let events = 0;
      let handle: WatchHandle | undefined;
      const finish = (o: WatchOutcome) => {
        outcome ??= o;
        handle?.stop();
      };
      const onEvent = (event: WatchEvent) => {
        if (outcome || this.stopped) return;
        if (event.type === "ERROR") {
          finish(classifyStatus(event.object as unknown as Partial<Status>));
          return;
        }
        events++;
        this.apply(event);
      };
      const options = {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
        ...(this.options.fieldSelector ? { fieldSelector: this.options.fieldSelector } : {}),
      };
      try {
        handle = this.client.watch(this.ref, this.namespace, options, onEvent);
      } catch (error) {
        resolve(classifyError(error));
        return;
      }
      this.currentWatch = handle;
      if (outcome || this.stopped) handle.stop();
      handle.done.then(
        () => resolve(outcome ?? { kind: "closed", events }),
        (error: unknown) => resolve(outcome ?? classifyError(error)),
      );
    }).finally(() => {
      this.currentWatch = undefined;
    });
  }

  private apply(event: WatchEvent): void {
    const obj = event.object as T;
    const rv = obj.metadata?.resourceVersion;
    if (event.type === "BOOKMARK") {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(obj);
    if (event.type === "DELETED") {
      this.cache.delete(key);
      this.emit((h) => h.onDelete?.(obj));
    } else {
      const old = this.cache.set(obj);
      if (old) this.emit((h) => h.onUpdate?.(old, obj));
      else this.emit((h) => h.onAdd?.(obj));
    }
    if (rv) this.rv = rv;
  }

  private scheduleResync(): void {
    const every = this.options.resyncMs ?? 0;
    if (every <= 0 || this.stopped) return;
    this.cancelResync = this.clock.after(every, () => {
      if (this.stopped) return;
      for (const obj of this.cache.values()) this.emit((h) => h.onUpdate?.(obj, obj));
      this.scheduleResync();
    });
  }

  private emit(fn: (h: EventHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(() => fn(h));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.counters.handlerErrors++;
      this.report(error, "handler");
    }
  }

  private report(error: unknown, phase: InformerPhase): void {
    try {
      this.options.onError?.(error, phase);
    } catch {
      // The error reporter failing must not stop the informer either.
    }
  }
}

function classifyStatus(status: Partial<Status>): WatchOutcome {
  if (status.code === 410) return { kind: "expired" };
  return { kind: "error", error: StatusError.fromStatus(status) };
}

function classifyError(error: unknown): WatchOutcome {
  if (isStatusError(error) && error.code === 410) return { kind: "expired" };
  return { kind: "error", error };
}
