import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { formatTriggerTime, TriggerTimeTracker } from "./_triggertime.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:00:01.250Z";
const T2 = "2026-01-01T00:00:02Z";
const T3 = "2026-01-01T00:00:03.5Z";

function svc(created = T0): Service {
  return { metadata: { name: "web", namespace: "default", creationTimestamp: created } };
}
function pod(name: string, readySince?: string): Pod {
  return {
    metadata: { name, namespace: "default" },
    status: readySince
      ? { conditions: [{ type: "Ready", status: "True", lastTransitionTime: readySince }] }
      : {},
  };
}
const at = (t: string) => Date.parse(t);

test("TriggerTimeTracker gives a Service seen for the first time its creation time", () => {
  const tracker = new TriggerTimeTracker();
  assert.equal(tracker.compute("default/web", svc(), [pod("a", T2)]), at(T0));
});

test("TriggerTimeTracker gives the earliest Ready transition that moved since the last sync", () => {
  const cases: Array<{ name: string; before: Pod[]; after: Pod[]; want: number | undefined }> = [
    { name: "one pod turned", before: [pod("a", T1)], after: [pod("a", T3)], want: at(T3) },
    {
      name: "two pods turned",
      before: [pod("a", T0), pod("b", T0)],
      after: [pod("a", T3), pod("b", T2)],
      want: at(T2),
    },
    {
      name: "a new pod",
      before: [pod("a", T1)],
      after: [pod("a", T1), pod("b", T2)],
      want: at(T2),
    },
    { name: "nothing moved", before: [pod("a", T1)], after: [pod("a", T1)], want: undefined },
    {
      name: "a pod went away",
      before: [pod("a", T1), pod("b", T2)],
      after: [pod("a", T1)],
      want: undefined,
    },
    { name: "a pod without a Ready condition", before: [], after: [pod("a")], want: undefined },
  ];
  for (const c of cases) {
    const tracker = new TriggerTimeTracker();
    tracker.compute("default/web", svc(), c.before);
    assert.equal(tracker.compute("default/web", svc(), c.after), c.want, c.name);
  }
});

test("TriggerTimeTracker counts a re-created Service and forgets a deleted one", () => {
  const tracker = new TriggerTimeTracker();
  tracker.compute("default/web", svc(T0), [pod("a", T3)]);
  assert.equal(tracker.compute("default/web", svc(T1), [pod("a", T3)]), at(T1));
  tracker.forget("default/web");
  assert.equal(tracker.compute("default/web", svc(T2), [pod("a", T3)]), at(T2));
});

test("formatTriggerTime prints RFC 3339 in UTC with the fraction trimmed, as Go's RFC3339Nano", () => {
  for (const [t, want] of [
    [T0, "2026-01-01T00:00:00Z"],
    [T1, "2026-01-01T00:00:01.25Z"],
    ["2026-01-01T10:20:30.001Z", "2026-01-01T10:20:30.001Z"],
    ["2026-01-01T10:20:30.100Z", "2026-01-01T10:20:30.1Z"],
  ] as const) {
    assert.equal(formatTriggerTime(Date.parse(t)), want);
  }
});

test("annotation gives compute's time in RFC 3339, and nothing when compute has none", () => {
  const tracker = new TriggerTimeTracker();
  const service = { metadata: { creationTimestamp: "2026-01-01T00:00:00Z" } };
  assert.equal(tracker.annotation("ns/s", service, []), "2026-01-01T00:00:00Z");
  assert.equal(tracker.annotation("ns/s", service, []), undefined);
});
