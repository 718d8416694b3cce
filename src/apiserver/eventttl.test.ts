import assert from "node:assert/strict";
import { test } from "node:test";
import { REFS } from "../api/refs.ts";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import { openStore } from "../store/index.ts";
import { lastWrite, startEventTtl } from "./eventttl.ts";
import { createRegistry } from "./index.ts";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-25T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

function setup() {
  let clock = T0;
  const { registry } = createRegistry(openStore({ backend: "memory" }), {
    now: () => new Date(clock),
  });
  const event = (name: string, fields: Record<string, unknown> = {}) =>
    registry.createSync(REFS.events, "default", {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: "default" },
      involvedObject: { kind: "Pod", name: "web-0", namespace: "default" },
      reason: "Started",
      message: "Started container web",
      type: "Normal",
      ...fields,
    } as KubeObject);
  const names = () =>
    registry
      .listSync(REFS.events, "")
      .items.map((e) => e.metadata.name)
      .sort();
  return {
    registry,
    event,
    names,
    at: (ms: number) => {
      clock = ms;
    },
    now: () => clock,
  };
}

test("lastWrite is the latest of creation, lastTimestamp, eventTime and series.lastObservedTime", () => {
  const meta = { name: "e", creationTimestamp: "2026-11-25T10:00:00Z" };
  // [case, event fields, wanted time]
  const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
    ["creation only", {}, "2026-11-25T10:00:00Z"],
    ["a later lastTimestamp", { lastTimestamp: "2026-11-25T10:30:00Z" }, "2026-11-25T10:30:00Z"],
    ["an earlier lastTimestamp", { lastTimestamp: "2026-11-25T09:00:00Z" }, "2026-11-25T10:00:00Z"],
    [
      "eventTime in microseconds",
      { eventTime: "2026-11-25T10:40:00.123456Z" },
      "2026-11-25T10:40:00.123Z",
    ],
    ["series", { series: { lastObservedTime: "2026-11-25T11:00:00Z" } }, "2026-11-25T11:00:00Z"],
  ];
  for (const [name, fields, want] of cases) {
    const got = lastWrite({ metadata: meta, ...fields } as KubeObject);
    assert.equal(got, want === undefined ? undefined : Date.parse(want), name);
  }
  assert.equal(lastWrite({ metadata: { name: "x" } } as KubeObject), undefined, "no time at all");
});

test("a sweep deletes the Events last written more than the TTL ago, and watchers see them go", async () => {
  const c = setup();
  c.event("old");
  c.event("renewed");
  c.at(T0 + 30 * 60_000);
  c.event("recent");
  // An aggregated repeat renews an Event, as the recorder's count/lastTimestamp patch does.
  c.at(T0 + 50 * 60_000);
  c.registry.patchSync(REFS.events, "default", "renewed", "merge", {
    count: 2,
    lastTimestamp: iso(T0 + 50 * 60_000),
  });
  const seen: WatchEvent[] = [];
  const w = c.registry.watch(
    REFS.events,
    "",
    { resourceVersion: String(c.registry.ctx.store.revision()) },
    (e) => seen.push(e),
  );
  const ttl = startEventTtl(c.registry, { ttlMs: HOUR, intervalMs: HOUR, now: c.now, pageSize: 2 });
  try {
    c.at(T0 + HOUR - 1);
    assert.equal(await ttl.sweep(), 0, "nothing is an hour old yet");
    c.at(T0 + HOUR + 1);
    assert.equal(await ttl.sweep(), 1);
    assert.deepEqual(c.names(), ["recent", "renewed"]);
    c.at(T0 + 50 * 60_000 + HOUR + 1);
    assert.equal(await ttl.sweep(), 2, "paged: every page is swept");
    assert.deepEqual(c.names(), []);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      seen
        .filter((e) => e.type === "DELETED")
        .map((e) => e.object.metadata.name)
        .sort(),
      ["old", "recent", "renewed"],
    );
  } finally {
    ttl.stop();
    w.stop();
  }
});

test("a TTL of 0 keeps Events forever; other resources are never touched", async (t) => {
  const c = setup();
  c.event("kept");
  c.registry.createSync(REFS.configmaps, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cm", namespace: "default" },
  } as KubeObject);
  c.at(T0 + 100 * HOUR);
  // Mocked timers, so that two hours of sweep intervals pass at once instead of a real wait.
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const off = startEventTtl(c.registry, { ttlMs: 0, intervalMs: 1, now: c.now });
  t.mock.timers.tick(2 * HOUR);
  off.stop();
  t.mock.timers.reset();
  assert.deepEqual(c.names(), ["kept"], "no sweep ran");
  const on = startEventTtl(c.registry, { ttlMs: HOUR, now: c.now });
  try {
    assert.equal(await on.sweep(), 1);
    assert.equal(c.registry.listSync(REFS.configmaps, "default").items.length, 1);
  } finally {
    on.stop();
  }
});
