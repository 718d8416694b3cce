/**
 * The store semantics shared by every backend: an in-memory index (a Map for get, an ordered key
 * set for list/count) over a {@link Journal} that makes each write durable, plus the event window.
 *
 * Write path, in this order, so that a failure changes nothing and consumes no revision:
 * check preconditions → copy the object and stamp the next revision → `journal` (may throw) →
 * update the index and the revision → publish the event (never runs consumer code). A journal
 * failure becomes `WriteFailed` and marks the store unwritable in `health()` until a create or
 * update goes through again.
 *
 * Objects are copied with JSON semantics on the way in (`cloneJson`: they are JSON values, and
 * the copy equals what a reopened SQLite store reads back, so both backends hand out identical
 * values; `stored` is never the caller's object, nor shares any part with it). Stored
 * objects are shared with every reader and event: callers must not mutate them (`freeze` makes
 * that an error, for tests).
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import { cloneJson } from "./_clone.ts";
import { SortedMap } from "./_keys.ts";
import { EventWindow } from "./_window.ts";
import {
  type ListOptions,
  type ListResult,
  type Store,
  StoreError,
  type StoreHealth,
  type StoreWatch,
  type WatchOptions,
} from "./types.ts";

/** Where a backend makes writes durable. Each call is one atomic write; throwing aborts it
 *  (the store then answers `WriteFailed` with the error's message). */
export interface Journal {
  /** Stores `object` (the store's copy, resourceVersion already `revision`) under `key`. */
  put(key: string, revision: number, object: KubeObject): void;
  /** Removes `key`; `revision` is the delete's revision and must survive as the store's. */
  remove(key: string, revision: number): void;
  close(): void;
}

/** Knobs shared by every backend; defaults in {@link DEFAULT_TUNING}. */
export interface StoreTuning {
  /** Events kept for watches that start in the past (default 50,000). */
  windowSize?: number;
  /** Default bound of a watcher's undelivered events before it is closed as too slow (10,000). */
  maxBacklog?: number;
  /** Deep-freeze stored objects so that a caller mutating one fails loudly (default false). */
  freeze?: boolean;
}

export const DEFAULT_TUNING: Readonly<Required<StoreTuning>> = Object.freeze({
  windowSize: 50_000,
  maxBacklog: 10_000,
  freeze: false,
});

/** What a backend found at open: the revision and every object, resourceVersion stamped. */
export interface InitialState {
  revision: number;
  objects: Array<[key: string, object: KubeObject]>;
}

export class VersionedStore implements Store {
  /** Every object by key, for get. */
  private readonly objects: Map<string, KubeObject>;
  /** The same objects in key order, for list and count. */
  private readonly ordered: SortedMap<KubeObject>;
  private readonly window: EventWindow;
  private readonly freeze: boolean;
  private rev: number;
  private closed = false;
  /** Why the latest write failed, until a put succeeds again. */
  private writeFailure: string | undefined;

  constructor(
    private readonly journal: Journal,
    initial: InitialState,
    tuning: StoreTuning = {},
  ) {
    const t = { ...DEFAULT_TUNING, ...definedOnly(tuning) };
    this.freeze = t.freeze;
    this.rev = initial.revision;
    this.objects = new Map(initial.objects);
    if (this.freeze) for (const obj of this.objects.values()) deepFreeze(obj);
    this.ordered = SortedMap.fromSorted(
      [...this.objects].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    );
    this.window = new EventWindow({
      capacity: t.windowSize,
      maxBacklog: t.maxBacklog,
      revision: this.rev,
    });
  }

  revision(): number {
    return this.rev;
  }

  oldestWatchableRevision(): number {
    return this.window.oldest();
  }

  get(key: string): KubeObject | undefined {
    this.assertOpen();
    return this.objects.get(key);
  }

  list(prefix: string, options: ListOptions = {}): ListResult {
    this.assertOpen();
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : undefined;
    const after = options.continueKey;
    const { values: items, lastKey } = this.ordered.range(prefix, { after, limit });
    const result: ListResult = { items, revision: this.rev };
    if (limit !== undefined && items.length === limit && lastKey !== undefined) {
      const last = lastKey;
      const remaining = this.ordered.countRange(prefix, last);
      if (remaining > 0) {
        result.continueKey = last;
        result.remaining = remaining;
      }
    }
    return result;
  }

  count(prefix: string): number {
    this.assertOpen();
    return this.ordered.countRange(prefix);
  }

  create(key: string, object: KubeObject): KubeObject {
    this.assertOpen();
    if (this.objects.has(key)) throw new StoreError("AlreadyExists", `key already exists: ${key}`);
    const revision = this.rev + 1;
    const stored = this.snapshot(object, revision);
    this.put(key, revision, stored);
    this.rev = revision;
    this.objects.set(key, stored);
    this.ordered.insert(key, stored);
    this.window.publish({ type: "ADDED", key, object: stored, revision });
    return stored;
  }

  update(key: string, object: KubeObject, expectedRevision?: number): KubeObject {
    this.assertOpen();
    const prev = this.current(key, expectedRevision);
    const revision = this.rev + 1;
    const stored = this.snapshot(object, revision);
    this.put(key, revision, stored);
    this.rev = revision;
    this.objects.set(key, stored);
    this.ordered.set(key, stored);
    this.window.publish({ type: "MODIFIED", key, object: stored, prevObject: prev, revision });
    return stored;
  }

  delete(key: string, expectedRevision?: number): KubeObject {
    this.assertOpen();
    const prev = this.current(key, expectedRevision);
    const revision = this.rev + 1;
    this.journaled(() => this.journal.remove(key, revision));
    this.rev = revision;
    this.objects.delete(key);
    this.ordered.delete(key);
    // The event carries the last state stamped with the delete's revision, as kube's watch does.
    const last: KubeObject = {
      ...prev,
      metadata: { ...prev.metadata, resourceVersion: String(revision) },
    };
    if (this.freeze) Object.freeze(Object.freeze(last).metadata);
    this.window.publish({ type: "DELETED", key, object: last, prevObject: prev, revision });
    return prev;
  }

  watch(prefix: string, options: WatchOptions): StoreWatch {
    this.assertOpen();
    return this.window.watch(prefix, options);
  }

  health(): StoreHealth {
    return this.writeFailure === undefined
      ? { writable: true }
      : { writable: false, reason: this.writeFailure };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.window.closeAll("store closed");
    this.journal.close();
  }

  private put(key: string, revision: number, stored: KubeObject): void {
    this.journaled(() => this.journal.put(key, revision, stored));
    this.writeFailure = undefined;
  }

  /** Runs a journal write; its failure is the store's `WriteFailed`. */
  private journaled(write: () => void): void {
    try {
      write();
    } catch (err) {
      const message = `storage cannot write: ${err instanceof Error ? err.message : String(err)}`;
      this.writeFailure = message;
      throw new StoreError("WriteFailed", message, { cause: err });
    }
  }

  /** The stored object at `key`, after checking the caller's expected revision. */
  private current(key: string, expectedRevision: number | undefined): KubeObject {
    const prev = this.objects.get(key);
    if (prev === undefined) throw new StoreError("NotFound", `key not found: ${key}`);
    if (expectedRevision !== undefined) {
      const actual = Number(prev.metadata.resourceVersion);
      if (actual !== expectedRevision) {
        throw new StoreError(
          "Conflict",
          `revision mismatch for ${key}: expected ${expectedRevision}, current ${actual}`,
        );
      }
    }
    return prev;
  }

  /** The store's own copy of `object`, stamped with its resourceVersion. */
  private snapshot(object: KubeObject, revision: number): KubeObject {
    const stored = stampRevision(cloneJson(object), revision);
    if (this.freeze) deepFreeze(stored);
    return stored;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("store: closed");
  }
}

/** Sets `metadata.resourceVersion` (in place: `object` is the store's own fresh copy). */
export function stampRevision(object: KubeObject, revision: number): KubeObject {
  if (typeof object.metadata !== "object" || object.metadata === null) object.metadata = {};
  (object.metadata as { resourceVersion?: string }).resourceVersion = String(revision);
  return object;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
