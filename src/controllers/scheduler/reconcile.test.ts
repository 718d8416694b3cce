import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node, Pod, PodCondition } from "kubernetes-types/core/v1.js";
import { candidates } from "./_fit.ts";
import { podsOn } from "./_testing.ts";
import { reconcilePod, type SchedulerDeps } from "./reconcile.ts";

const ready = (name: string, labels: Record<string, string> = {}): Node => ({
  metadata: { name, labels },
  status: { conditions: [{ type: "Ready", status: "True" }] },
});

function harness(pod: Pod | undefined, nodes: Node[], counts: Record<string, number> = {}) {
  const log: string[] = [];
  let conditions: PodCondition[] = [];
  const deps: SchedulerDeps = {
    getPod: () => pod,
    nodes: () => candidates(nodes, (n) => counts[n] ?? 0),
    searchFrom: () => 0,
    searched: () => {},
    bind: async (_p, node) => {
      log.push(`bind ${node}`);
    },
    setConditions: async (_p, c) => {
      conditions = c;
      log.push("conditions");
    },
    event: (_p, type, reason, message) => log.push(`${type} ${reason}: ${message}`),
    now: () => new Date("2026-01-01T00:00:00Z"),
  };
  return { deps, log, conditions: () => conditions };
}

const pod = (spec: Partial<NonNullable<Pod["spec"]>> = {}, status: Pod["status"] = {}): Pod => ({
  metadata: { name: "web-0", namespace: "default" },
  spec: { containers: [], ...spec },
  status,
});

test("reconcilePod binds to the least loaded node and records Scheduled", async () => {
  const h = harness(pod(), [ready("a"), ready("b")], { a: 2 });
  await reconcilePod("default/web-0", h.deps);
  assert.deepEqual(h.log, ["bind b", "Normal Scheduled: Successfully assigned default/web-0 to b"]);
});

test("reconcilePod leaves alone pods that are not its to schedule", async () => {
  const cases: Array<[string, Pod | undefined]> = [
    ["gone", undefined],
    ["already bound", pod({ nodeName: "a" })],
    ["other scheduler", pod({ schedulerName: "my-scheduler" })],
    ["terminal", pod({}, { phase: "Failed" })],
  ];
  for (const [name, p] of cases) {
    const h = harness(p, [ready("a")]);
    await reconcilePod("default/web-0", h.deps);
    assert.deepEqual(h.log, [], name);
  }
});

test("reconcilePod marks an unschedulable pod once, and not again for the same reason", async () => {
  const h = harness(pod({ nodeSelector: { disk: "ssd" } }), [ready("a")]);
  await reconcilePod("default/web-0", h.deps);
  const msg =
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
  assert.deepEqual(h.log, ["conditions", `Warning FailedScheduling: ${msg}`]);
  assert.deepEqual(h.conditions(), [
    {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: msg,
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  ]);
  const again = harness(pod({ nodeSelector: { disk: "ssd" } }, { conditions: h.conditions() }), [
    ready("a"),
  ]);
  await reconcilePod("default/web-0", again.deps);
  assert.deepEqual(again.log, []);
});

test("reconcilePod preempts a lower-priority pod, then records the nomination and FailedScheduling", async () => {
  const node: Node = {
    ...ready("a"),
    status: { ...ready("a").status, allocatable: { pods: "1" } },
  };
  const low: Pod = {
    metadata: { name: "low", namespace: "default", uid: "u-low" },
    spec: { containers: [], priority: 0 },
  };
  const high = pod({ priority: 100 });
  const h = harness(high, [node], { a: 1 });
  const nominated: string[] = [];
  const deps: SchedulerDeps = {
    ...h.deps,
    pods: () => podsOn([[low, "a"]]),
    preempt: async (_p, at, victims) => {
      h.log.push(`preempt ${victims.map((v) => v.metadata?.name).join(",")} on ${at}`);
    },
    setConditions: async (_p, _c, nominatedNodeName) => {
      nominated.push(nominatedNodeName ?? "");
      h.log.push("conditions");
    },
  };
  await reconcilePod("default/web-0", deps);
  assert.deepEqual(h.log, [
    "preempt low on a",
    "conditions",
    "Warning FailedScheduling: 0/1 nodes are available: 1 Too many pods.",
  ]);
  assert.deepEqual(nominated, ["a"]);
});
