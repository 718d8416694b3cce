/**
 * watch: an optional initial state (for resourceVersion "" or "0", every matching object as
 * ADDED, as kube-apiserver sends), then every change after the starting revision, in order.
 * Selectors are applied to both sides of a change, so an object that starts or stops matching
 * arrives as ADDED or DELETED. A revision older than the store's event window ends the watch with
 * an ERROR event carrying a 410 Expired Status; the client re-lists. Bookmarks, when allowed,
 * carry the latest revision so a client resumes from there.
 *
 * @module
 */
import { badRequest, expired, StatusError } from "../../api/errors.ts";
import { apiVersionOf, type KubeObject, type WatchEvent } from "../../api/types.ts";
import type { WatchHandle, WatchOptions } from "../../api/verbs.ts";
import type { StoreEvent } from "../../store/types.ts";
import { type ResourceInfo, storePrefix } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { compileSelectors } from "./_select.ts";

export interface WatchTuning {
  /** How often a BOOKMARK is sent when the client allows them. */
  bookmarkIntervalMs: number;
}

export const DEFAULT_WATCH_TUNING: WatchTuning = { bookmarkIntervalMs: 60_000 };

function parseRevision(rv: string): number {
  const n = Number(rv);
  if (!Number.isInteger(n) || n < 0)
    throw badRequest(`resourceVersion: Invalid value: "${rv}": must be an integer`);
  return n;
}

export function watch(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  options: WatchOptions,
  onEvent: (event: WatchEvent) => void,
  tuning: WatchTuning = DEFAULT_WATCH_TUNING,
): WatchHandle {
  const predicate = compileSelectors(ctx.strategy(info), options);
  const prefix = storePrefix(info, namespace);
  const rv = options.resourceVersion ?? "";
  const initial = rv === "" || rv === "0";
  const from = initial ? ctx.store.revision() : parseRevision(rv);
  const initialItems = initial ? ctx.store.list(prefix).items : [];

  let ended = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let timeoutTimer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let storeWatch: { stop(): void } | undefined;
  let lastRevision = from;

  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timeoutTimer);
    clearTimeout(bookmarkTimer);
    storeWatch?.stop();
    resolveDone();
  };
  const emit = (event: WatchEvent) => {
    if (ended) return;
    try {
      onEvent(event);
    } catch {
      end();
    }
  };
  const matches = (o: KubeObject | undefined) => o !== undefined && (!predicate || predicate(o));

  const onStoreEvent = (e: StoreEvent) => {
    lastRevision = e.revision;
    const now = matches(e.object);
    const before = e.type === "MODIFIED" && matches(e.prevObject);
    if (e.type === "ADDED") {
      if (now) emit({ type: "ADDED", object: e.object });
    } else if (e.type === "DELETED") {
      if (now) emit({ type: "DELETED", object: e.object });
    } else if (now && before) emit({ type: "MODIFIED", object: e.object });
    else if (now) emit({ type: "ADDED", object: e.object });
    else if (before) emit({ type: "DELETED", object: e.object });
  };

  queueMicrotask(() => {
    if (ended) return;
    for (const obj of initialItems) if (matches(obj)) emit({ type: "ADDED", object: obj });
    try {
      storeWatch = ctx.store.watch(prefix, {
        fromRevision: from,
        onEvent: onStoreEvent,
        onClose: () => end(),
      });
    } catch (e) {
      const err =
        e instanceof StatusError ? e : expired(e instanceof Error ? e.message : String(e));
      emit({ type: "ERROR", object: err.toStatus() as unknown as KubeObject });
      end();
      return;
    }
    if (options.timeoutSeconds && options.timeoutSeconds > 0) {
      timeoutTimer = setTimeout(end, options.timeoutSeconds * 1000);
    }
    if (options.allowWatchBookmarks) {
      // Only revisions already delivered (or filtered out) go into a bookmark: the store may still
      // hold undelivered events, and a client resuming past them would miss them.
      const tick = () => {
        emit({
          type: "BOOKMARK",
          object: {
            kind: info.kind,
            apiVersion: apiVersionOf(info.group, info.version),
            metadata: { resourceVersion: String(lastRevision) },
          },
        });
        bookmarkTimer = setTimeout(tick, tuning.bookmarkIntervalMs);
      };
      bookmarkTimer = setTimeout(tick, tuning.bookmarkIntervalMs);
    }
  });

  return { stop: end, done };
}
