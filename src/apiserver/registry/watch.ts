/**
 * watch, as kube-apiserver's watch cache serves it:
 *
 * - Start: with `sendInitialEvents=true` (which kube defaults for a watch from resourceVersion ""
 *   or "0"), every matching object as ADDED, then — when the client allows bookmarks — a BOOKMARK
 *   annotated `k8s.io/initial-events-end: "true"` at the revision of that state (client-go's
 *   WatchList), then every change after it. Otherwise every change after the given revision;
 *   `sendInitialEvents=false` from "" or "0" starts at the current revision.
 * - A revision older than the store's event window answers 200 with one ERROR event carrying a
 *   410 Expired Status (`too old resource version: X (Y)`), then the watch ends: kube's cacher
 *   returns such an "error watcher" once the request has been admitted. The client re-lists.
 * - Flow control: the consumer returns `false` from `onEvent` when it cannot take more (its socket
 *   is full); nothing more is delivered until it calls `resume()`. The initial state and the
 *   replay from the window are never dropped, however large: they go at the client's pace.
 * - Live events wait in the store's bounded queue meanwhile; when it overflows the watch ends
 *   cleanly, after the last whole event, without an ERROR event — as kube's cacher closes an
 *   unresponsive watcher ("Forcing watcher close due to unresponsiveness"). client-go and
 *   client-node then watch again from the last resourceVersion they got: the window still has
 *   what they missed, or that revision is too old and the 410 above makes them re-list. An ERROR
 *   here would force a full re-list where a resume is possible, which kube does not do.
 * - Selectors are applied to both sides of a change, so an object that starts or stops matching
 *   arrives as ADDED or DELETED.
 * - Bookmarks (`allowWatchBookmarks`) carry only `metadata.resourceVersion`: a revision up to
 *   which every event was delivered (the store's revision when nothing waits, so a quiet watch
 *   still moves forward), about every minute and once 2 s before the timeout, as kube does.
 *
 * @module
 */
import {
  badRequest,
  expired,
  fieldForbidden,
  fieldNotSupported,
  invalid,
  StatusError,
} from "../../api/errors.ts";
import { apiVersionOf, type KubeObject, type WatchEvent } from "../../api/types.ts";
import type { WatchHandle, WatchOptions } from "../../api/verbs.ts";
import type { StoreEvent, StoreWatch } from "../../store/types.ts";
import { type ResourceInfo, storePrefix } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { compileSelectors } from "./_select.ts";

export interface WatchTuning {
  /** How often a BOOKMARK is sent when the client allows them. */
  bookmarkIntervalMs: number;
}

export const DEFAULT_WATCH_TUNING: WatchTuning = { bookmarkIntervalMs: 60_000 };

/** kube sends the last bookmark this long before a watch's timeout. */
const BOOKMARK_BEFORE_TIMEOUT_MS = 2_000;

export const INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end";

/** Receives each event; returning exactly `false` holds delivery until `resume()`. */
export type WatchSink = (event: WatchEvent) => unknown;

export interface RegistryWatch extends WatchHandle {
  /** Continues delivery after the sink returned `false`. */
  resume(): void;
}

const NOT_OLDER_THAN = "NotOlderThan";

function parseRevision(rv: string): number {
  const n = Number(rv);
  if (!Number.isInteger(n) || n < 0)
    throw badRequest(`resourceVersion: Invalid value: "${rv}": must be an integer`);
  return n;
}

/**
 * kube's defaulting (with WatchList on) and validation of a watch's options: a watch from "" or
 * "0" that says nothing else means `sendInitialEvents=true&resourceVersionMatch=NotOlderThan`;
 * `sendInitialEvents` needs `resourceVersionMatch=NotOlderThan` and the reverse. Throws 422
 * Invalid `ListOptions.meta.k8s.io` as kube-apiserver answers.
 */
export function defaultWatchOptions(options: WatchOptions): WatchOptions {
  const rv = options.resourceVersion ?? "";
  let out = options;
  if (
    options.sendInitialEvents === undefined &&
    !options.resourceVersionMatch &&
    (rv === "" || rv === "0")
  ) {
    out = { ...options, sendInitialEvents: true, resourceVersionMatch: NOT_OLDER_THAN };
  }
  const errors = [];
  const match = out.resourceVersionMatch ?? "";
  if (out.sendInitialEvents !== undefined && match !== NOT_OLDER_THAN) {
    errors.push(
      fieldForbidden(
        "resourceVersionMatch",
        `sendInitialEvents requires setting resourceVersionMatch to ${NOT_OLDER_THAN}`,
      ),
    );
  }
  if (match !== "") {
    if (out.sendInitialEvents === undefined) {
      errors.push(
        fieldForbidden(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
      );
    }
    if (match !== NOT_OLDER_THAN) {
      errors.push(fieldNotSupported("resourceVersionMatch", match, [NOT_OLDER_THAN]));
    }
    if (out.continue) {
      errors.push(
        fieldForbidden(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden when continue is provided",
        ),
      );
    }
  }
  if (errors.length > 0) throw invalid("ListOptions", "meta.k8s.io", "", errors);
  return out;
}

export function watch(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  requested: WatchOptions,
  sink: WatchSink,
  tuning: WatchTuning = DEFAULT_WATCH_TUNING,
): RegistryWatch {
  const options = defaultWatchOptions(requested);
  const predicate = compileSelectors(ctx.strategy(info), options);
  const prefix = storePrefix(info, namespace);
  const rv = options.resourceVersion ?? "";
  const latest = rv === "" || rv === "0";
  const initial = options.sendInitialEvents === true;
  const from = initial || latest ? ctx.store.revision() : parseRevision(rv);
  const initialItems = initial ? ctx.store.list(prefix).items : [];
  const matches = (o: KubeObject | undefined) => o !== undefined && (!predicate || predicate(o));

  let ended = false;
  let paused = false;
  let next = 0;
  let initialDone = !initial;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let timeoutTimer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;

  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timeoutTimer);
    clearTimeout(bookmarkTimer);
    storeWatch?.stop();
    resolveDone();
  };
  /** Hands one event to the sink; false when delivery must stop (paused or ended). */
  const send = (event: WatchEvent): boolean => {
    if (ended) return false;
    try {
      if (sink(event) === false) paused = true;
    } catch {
      end();
    }
    return !ended && !paused;
  };
  const bookmark = (revision: number, annotations?: Record<string, string>): WatchEvent => ({
    type: "BOOKMARK",
    object: {
      kind: info.kind,
      apiVersion: apiVersionOf(info.group, info.version),
      metadata: { resourceVersion: String(revision), ...(annotations ? { annotations } : {}) },
    },
  });

  // Objects as read from the store (custom resources get their schema's defaults).
  const read = ctx.strategy(info).fromStore ?? ((obj: KubeObject) => obj);
  const onStoreEvent = (e: StoreEvent) => {
    const now = matches(e.object);
    const before = e.type === "MODIFIED" && matches(e.prevObject);
    const object = now || before ? read(e.object) : e.object;
    let event: WatchEvent | undefined;
    if (e.type === "ADDED") event = now ? { type: "ADDED", object } : undefined;
    else if (e.type === "DELETED") event = now ? { type: "DELETED", object } : undefined;
    else if (now) event = { type: before ? "MODIFIED" : "ADDED", object };
    else if (before) event = { type: "DELETED", object };
    if (event && !send(event) && !ended) storeWatch?.pause();
  };

  // The store watch starts now, at the revision of the initial state, so nothing written while
  // that state is being sent is missed; it stays paused until the state has gone out.
  let storeWatch: StoreWatch | undefined;
  let startError: StatusError | undefined;
  try {
    storeWatch = ctx.store.watch(prefix, {
      fromRevision: from,
      onEvent: onStoreEvent,
      onClose: () => end(),
    });
    storeWatch.pause();
  } catch (e) {
    startError = e instanceof StatusError ? e : expired(e instanceof Error ? e.message : String(e));
  }

  const pump = () => {
    while (!ended && !paused && next < initialItems.length) {
      const obj = initialItems[next++]!;
      if (matches(obj)) send({ type: "ADDED", object: read(obj) });
    }
    if (ended || paused) return;
    if (!initialDone) {
      initialDone = true;
      if (options.allowWatchBookmarks) {
        if (!send(bookmark(from, { [INITIAL_EVENTS_END_ANNOTATION]: "true" }))) return;
      }
    }
    storeWatch?.resume();
  };

  const scheduleBookmark = (deadline: number | undefined) => {
    const now = Date.now();
    const last = deadline === undefined ? undefined : deadline - BOOKMARK_BEFORE_TIMEOUT_MS;
    const periodic = now + tuning.bookmarkIntervalMs;
    // The one before the timeout is the last: a timer may fire a millisecond early by the wall
    // clock, so "is it due yet" is not asked again after it.
    const isLast = last !== undefined && last <= periodic;
    const at = isLast ? last : periodic;
    if (at < now) return;
    bookmarkTimer = setTimeout(() => {
      // Skipped while the client is behind: a bookmark only helps one that keeps up.
      if (!ended && !paused && initialDone && storeWatch) send(bookmark(storeWatch.progress()));
      if (!isLast) scheduleBookmark(deadline);
    }, at - now);
  };

  // Events start from a later microtask: the caller sends its response headers first.
  queueMicrotask(() => {
    if (ended) return;
    if (startError) {
      send({ type: "ERROR", object: startError.toStatus() as unknown as KubeObject });
      end();
      return;
    }
    const timeoutMs =
      options.timeoutSeconds && options.timeoutSeconds > 0
        ? options.timeoutSeconds * 1000
        : undefined;
    if (timeoutMs !== undefined) timeoutTimer = setTimeout(end, timeoutMs);
    if (options.allowWatchBookmarks) {
      scheduleBookmark(timeoutMs !== undefined ? Date.now() + timeoutMs : undefined);
    }
    pump();
  });

  return {
    stop: end,
    done,
    resume: () => {
      if (ended || !paused) return;
      paused = false;
      if (initialDone && next >= initialItems.length) storeWatch?.resume();
      else pump();
    },
  };
}
