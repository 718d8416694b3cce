/**
 * The store contract: a versioned key/value store of Kubernetes objects, etcd-style.
 *
 * Invariants every backend keeps (checked by `store.conformance.ts`):
 * - One global, strictly increasing revision. Every successful write (create, update, delete)
 *   takes the next revision; the stored object's `metadata.resourceVersion` is that revision as
 *   a decimal string. A failed write changes nothing and consumes no revision.
 * - `update` and `delete` take an optional expected revision: when given and different from the
 *   object's current revision, the write fails with `Conflict` (compare-and-swap).
 * - `list` returns the items under a prefix in key order together with the revision the result
 *   reflects; with `limit` it returns at most that many and a `continueKey` to pass back.
 * - `watch` delivers, in revision order, every event under a prefix with a revision greater than
 *   `fromRevision`, first the ones still in the bounded in-memory event window, then live ones.
 *   When `fromRevision` is older than the window, `watch` throws `Expired`. Delivery never blocks a
 *   writer: a watcher whose live backlog (not counting that replay) exceeds its bound is closed
 *   with reason "too slow" and must resume from the last revision it got (or re-list). A consumer
 *   may pause delivery while it cannot take more; the same bound applies meanwhile.
 * - Keys are opaque strings; prefixes are matched literally (callers end them with "/").
 * - Objects handed out (results and events) are shared, frozen-by-convention values: callers must
 *   not mutate them. Objects passed in are not retained: the store keeps its own copy.
 * - Durability (SQLite): a write that returned survives `kill -9` of the process.
 * - A write the backend cannot make durable (disk full, quota, I/O error) fails with
 *   `WriteFailed`, changes nothing and consumes no revision; reads and watches go on. `health()`
 *   says so from that failure until the next create or update succeeds (a delete that succeeds
 *   frees space but does not prove that objects can be written again).
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";

export type StoreErrorCode = "NotFound" | "AlreadyExists" | "Conflict" | "Expired" | "WriteFailed";

/** A store-level failure; the API server turns it into a Status with the resource's names. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
    this.code = code;
  }
}

export type StoreEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: StoreEventType;
  key: string;
  /** The object after the write; for DELETED, the last state with the delete's revision. */
  object: KubeObject;
  /** The object before the write (MODIFIED and DELETED). */
  prevObject?: KubeObject;
  revision: number;
}

export interface ListOptions {
  /** Return at most this many items (0 or absent: all). */
  limit?: number;
  /** Resume after this key (from a previous `continueKey`). */
  continueKey?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** The revision the result reflects. */
  revision: number;
  /** Set when `limit` cut the result: pass it as `continueKey` to get the rest. */
  continueKey?: string;
  /** How many items remain after this page (set with `continueKey`). */
  remaining?: number;
}

export interface WatchOptions {
  /** Deliver events with revision > fromRevision. */
  fromRevision: number;
  /** Called for each event, in revision order. */
  onEvent: (event: StoreEvent) => void;
  /** Called once when the store closes the watch (too slow, store closed); not after `stop()`. */
  onClose?: (reason: string) => void;
  /** Most events that may wait undelivered before the watch is closed as too slow. */
  maxBacklog?: number;
}

/** Whether the store can write (see `health()`). */
export interface StoreHealth {
  writable: boolean;
  /** Why the latest write failed, while `writable` is false. */
  reason?: string;
}

export interface StoreWatch {
  stop(): void;
  /** Holds delivery (the consumer's buffer is full); events queue, bounded by `maxBacklog`. */
  pause(): void;
  /** Delivers what queued while paused. */
  resume(): void;
  /**
   * A revision up to which every event under the prefix has been delivered: the store's revision
   * when nothing is waiting, else the last delivered event's. What a BOOKMARK may carry.
   */
  progress(): number;
}

export interface Store {
  /** The revision of the latest write (0 for an empty new store). */
  revision(): number;
  get(key: string): KubeObject | undefined;
  list(prefix: string, options?: ListOptions): ListResult;
  /** How many keys are under the prefix. */
  count(prefix: string): number;
  /** Stores a new object; `AlreadyExists` if the key is taken. Returns the stored object. */
  create(key: string, object: KubeObject): KubeObject;
  /** Replaces an existing object; `NotFound` if absent, `Conflict` on a revision mismatch. */
  update(key: string, object: KubeObject, expectedRevision?: number): KubeObject;
  /** Removes an object; `NotFound` if absent, `Conflict` on a revision mismatch. Returns its last state. */
  delete(key: string, expectedRevision?: number): KubeObject;
  /** Streams events under a prefix; throws `Expired` if `fromRevision` left the event window. */
  watch(prefix: string, options: WatchOptions): StoreWatch;
  /** Whether writes succeed: false from a `WriteFailed` until a create or update succeeds. */
  health(): StoreHealth;
  /** The oldest revision a watch can still start from. */
  oldestWatchableRevision(): number;
  /** Closes every watch and releases the backend. */
  close(): void;
}
