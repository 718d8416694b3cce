/**
 * An event recorder that writes core/v1 Events the way client-go's legacy recorder does, so that
 * `kubectl describe` and `kubectl get events` read them as on a real cluster:
 *
 * - name `<object name>.<hex of the time in nanoseconds>`, in the object's namespace (`default`
 *   for cluster-scoped objects); `involvedObject` from the object's kind, apiVersion, namespace,
 *   name, uid and resourceVersion; `source.component`/`host`, `reportingComponent`/`Instance`;
 * - repeats of the same (source, object, type, reason, message) are aggregated: the first Event
 *   is patched (strategic merge) with `count + 1`, `lastTimestamp` and `message`, remembered in
 *   an LRU of 4096 keys; if that Event is gone, a new one is created;
 * - a spam filter per (source, object): a bucket of 25 events refilled one per 5 minutes;
 *   events beyond it are dropped.
 *
 * Best effort: `event()` never throws and never waits; writes are queued and done in order;
 * failures go to `onError`. `flush()` resolves when every queued write has been attempted.
 *
 * Not done (client-go does): grouping of similar events with different messages into
 * "(combined from similar events)", and retrying failed writes.
 *
 * @module
 */
import { isStatusError } from "../api/errors.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";
import { type Clock, realClock } from "./clock.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `deployment-controller`. */
  component: string;
  /** `source.host` and `reportingInstance`, e.g. the node name. */
  host?: string;
  clock?: Clock;
  onError?: (error: unknown) => void;
}

export interface EventRecorder {
  /** `fieldPath` points into the object, as a kubelet names a container: `spec.containers{app}`. */
  event(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    options?: { fieldPath?: string },
  ): void;
  /** Resolves when every event recorded so far has been written (or failed). */
  flush(): Promise<void>;
}

const EVENTS: ResourceRef = { group: "", version: "v1", resource: "events" };
const LRU_SIZE = 4096;
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 5 * 60 * 1000;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

export function createEventRecorder(
  client: ApiVerbs,
  options: EventRecorderOptions,
): EventRecorder {
  const clock = options.clock ?? realClock;
  const seen = new Map<string, Seen>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  let chain: Promise<void> = Promise.resolve();
  let sequence = 0n;

  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // Best effort all the way down.
    }
  };

  const allow = (sourceKey: string): boolean => {
    const now = clock.now();
    const b = buckets.get(sourceKey) ?? { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    buckets.delete(sourceKey);
    buckets.set(sourceKey, b);
    if (buckets.size > LRU_SIZE) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };

  const write = async (key: string, event: KubeObject, prior: Seen | undefined) => {
    const namespace = event.metadata.namespace ?? "default";
    if (prior) {
      try {
        await client.patch(EVENTS, namespace, prior.name, "strategic", {
          count: event.count,
          lastTimestamp: event.lastTimestamp,
          message: event.message,
        });
        return;
      } catch (error) {
        if (!isStatusError(error, "NotFound")) throw error;
        // The Event expired (events have a TTL) or was deleted: write it anew under its name.
      }
    }
    try {
      await client.create(EVENTS, namespace, event);
    } catch (error) {
      if (!prior) seen.delete(key);
      throw error;
    }
  };

  return {
    event(obj, type, reason, message, eventOptions = {}) {
      try {
        const meta = obj.metadata ?? {};
        const involved: Record<string, string> = {};
        if (obj.kind) involved.kind = obj.kind;
        if (meta.namespace) involved.namespace = meta.namespace;
        if (meta.name) involved.name = meta.name;
        if (meta.uid) involved.uid = meta.uid;
        if (obj.apiVersion) involved.apiVersion = obj.apiVersion;
        if (meta.resourceVersion) involved.resourceVersion = meta.resourceVersion;
        if (eventOptions.fieldPath) involved.fieldPath = eventOptions.fieldPath;
        const sourceKey = JSON.stringify([
          options.component,
          options.host ?? "",
          involved.kind,
          involved.namespace,
          involved.name,
          involved.uid,
          involved.apiVersion,
        ]);
        if (!allow(sourceKey)) return;
        const key = JSON.stringify([sourceKey, involved.fieldPath ?? "", type, reason, message]);

        const now = clock.now();
        const timestamp = new Date(now).toISOString().replace(/\.\d+Z$/, "Z");
        const prior = seen.get(key);
        const namespace = meta.namespace || "default";
        const name =
          prior?.name ??
          `${meta.name ?? "unknown"}.${(BigInt(now) * 1_000_000n + (sequence++ % 1_000_000n)).toString(16)}`;
        const count = (prior?.count ?? 0) + 1;
        const firstTimestamp = prior?.firstTimestamp ?? timestamp;
        seen.delete(key);
        seen.set(key, { name, namespace, count, firstTimestamp });
        if (seen.size > LRU_SIZE) seen.delete(seen.keys().next().value!);

        const source: Record<string, string> = { component: options.component };
        if (options.host) source.host = options.host;
        const event: KubeObject = {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name, namespace },
          involvedObject: involved,
          reason,
          message,
          type,
          source,
          firstTimestamp,
          lastTimestamp: timestamp,
          count,
          reportingComponent: options.component,
          reportingInstance: options.host ?? "",
        };
        chain = chain.then(() => write(key, event, prior)).catch(report);
      } catch (error) {
        report(error);
      }
    },
    flush() {
      return chain;
    },
  };
}
