/**
 * Events expire, as kube-apiserver's `--event-ttl` (default 1 h) makes them: etcd drops an Event
 * that long after its last write. Without it every Event a cluster ever recorded stays in the
 * store, and in memory: four or five per pod started, so a long-lived cluster with rollouts grows
 * without bound.
 *
 * An Event's last write is read from the Event itself, as the latest of its
 * `metadata.creationTimestamp`, `lastTimestamp`, `eventTime` and `series.lastObservedTime` (a
 * recorder that aggregates a repeat patches `count` and `lastTimestamp`, which renews it, as the
 * new lease of that write does in kube). Every `intervalMs` the sweeper pages through all Events
 * (pages of `pageSize`, yielding to the event loop between pages) and deletes the expired ones
 * through the registry, so watchers see them go as DELETED, as they do in kube.
 *
 * @module
 */
import { isStatusError } from "../api/errors.ts";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { Registry } from "./registry/index.ts";

export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;

export interface EventTtlOptions {
  /** How long after its last write an Event is deleted; 0 disables. Default 1 h. */
  ttlMs?: number;
  /** How often the Events are swept; default a minute (or the TTL, if shorter). */
  intervalMs?: number;
  pageSize?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export interface EventTtl {
  /** One sweep now; resolves with the number of Events deleted. */
  sweep(): Promise<number>;
  stop(): void;
}

/** The time of an Event's last write, in ms, or undefined when it carries no time at all. */
export function lastWrite(ev: KubeObject): number | undefined {
  const series = ev.series as { lastObservedTime?: string } | undefined;
  const times = [
    ev.metadata.creationTimestamp,
    ev.lastTimestamp as string | undefined,
    ev.eventTime as string | undefined,
    series?.lastObservedTime,
  ];
  let latest: number | undefined;
  for (const t of times) {
    const ms = typeof t === "string" ? Date.parse(t) : Number.NaN;
    if (Number.isFinite(ms) && (latest === undefined || ms > latest)) latest = ms;
  }
  return latest;
}

export function startEventTtl(registry: Registry, options: EventTtlOptions = {}): EventTtl {
  const ttlMs = options.ttlMs ?? DEFAULT_EVENT_TTL_MS;
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 5000;
  let stopped = false;
  let running: Promise<number> | undefined;

  const sweepOnce = async (): Promise<number> => {
    const cutoff = now() - ttlMs;
    let deleted = 0;
    let cont: string | undefined;
    do {
      const page = registry.listSync(REFS.events, "", {
        limit: pageSize,
        ...(cont ? { continue: cont } : {}),
      });
      for (const ev of page.items) {
        const at = lastWrite(ev);
        if (at === undefined || at > cutoff) continue;
        try {
          registry.deleteSync(REFS.events, ev.metadata.namespace ?? "", ev.metadata.name ?? "", {
            preconditions: { uid: ev.metadata.uid ?? "" },
          });
          deleted++;
        } catch (e) {
          // Gone already, or written again since the page was read: not ours to delete.
          if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
        }
      }
      cont = page.metadata.continue || undefined;
      if (cont) await new Promise((r) => setImmediate(r));
    } while (cont && !stopped);
    return deleted;
  };

  const sweep = () => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer =
    ttlMs > 0
      ? setInterval(() => {
          sweep().catch((e: unknown) => options.onError?.(e));
        }, options.intervalMs ?? Math.min(60_000, ttlMs))
      : undefined;
  timer?.unref?.();

  return {
    sweep,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
