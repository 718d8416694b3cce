import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node, NodeCondition, Taint } from "kubernetes-types/core/v1.js";
import {
  mayEvict,
  NODE_MONITOR_GRACE_MS,
  observe,
  overdueConditions,
  wantedTaints,
  zoneState,
} from "./health.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const STAMP = "2026-01-01T00:01:00Z";

function node(
  ready: string | undefined,
  extra: {
    taints?: Taint[];
    unschedulable?: boolean;
    zone?: string;
    conditions?: NodeCondition[];
  } = {},
): Node {
  return {
    metadata: {
      name: "n",
      ...(extra.zone ? { labels: { "topology.kubernetes.io/zone": extra.zone } } : {}),
    },
    spec: {
      ...(extra.taints ? { taints: extra.taints } : {}),
      ...(extra.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      conditions: [
        ...(ready ? [{ type: "Ready", status: ready, reason: "KubeletReady" }] : []),
        ...(extra.conditions ?? []),
      ],
    },
  };
}

test("a heartbeat counts from when the controller saw it move, not from its timestamp", () => {
  const first = observe(undefined, "beat-1", T0);
  assert.deepEqual(first, { heartbeat: "beat-1", at: T0 });
  assert.equal(observe(first, "beat-1", T0 + 30_000), first);
  assert.deepEqual(observe(first, "beat-2", T0 + 30_000), { heartbeat: "beat-2", at: T0 + 30_000 });
});

test("a node's conditions turn Unknown once its heartbeat is overdue", () => {
  const cases: { why: string; n: Node; after: number; want: string | undefined }[] = [
    {
      why: "within the grace period",
      n: node("True"),
      after: NODE_MONITOR_GRACE_MS - 1,
      want: undefined,
    },
    {
      why: "past the grace period",
      n: node("True"),
      after: NODE_MONITOR_GRACE_MS,
      want: "NodeStatusUnknown",
    },
    {
      why: "already Unknown",
      n: node("Unknown"),
      after: 10 * NODE_MONITOR_GRACE_MS,
      want: undefined,
    },
    {
      why: "never posted",
      n: node(undefined),
      after: NODE_MONITOR_GRACE_MS,
      want: "NodeStatusNeverUpdated",
    },
  ];
  for (const c of cases) {
    const got = overdueConditions(c.n, { heartbeat: "x", at: T0 }, T0 + c.after, STAMP);
    const ready = got?.find((x) => x.type === "Ready");
    assert.equal(ready?.reason, c.want, c.why);
    if (ready) assert.equal(ready.status, "Unknown", c.why);
  }
  const pressure = overdueConditions(
    node("True", { conditions: [{ type: "MemoryPressure", status: "False" }] }),
    { heartbeat: "x", at: T0 },
    T0 + NODE_MONITOR_GRACE_MS,
    STAMP,
  );
  assert.deepEqual(
    pressure?.map((c) => [c.type, c.status, c.message]),
    [
      ["Ready", "Unknown", "Kubelet stopped posting node status."],
      ["MemoryPressure", "Unknown", "Kubelet stopped posting node status."],
    ],
  );
});

test("taints follow the node's conditions and cordon", () => {
  const key = (t: Taint) => `${t.key}:${t.effect}`;
  const cases: { why: string; n: Node; evict?: boolean; want: string[] | undefined }[] = [
    { why: "a ready node has none", n: node("True"), want: undefined },
    {
      why: "not ready",
      n: node("False"),
      want: ["node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"],
    },
    {
      why: "unreachable",
      n: node("Unknown"),
      want: [
        "node.kubernetes.io/unreachable:NoSchedule",
        "node.kubernetes.io/unreachable:NoExecute",
      ],
    },
    {
      why: "unreachable while evictions are held (full disruption)",
      n: node("Unknown"),
      evict: false,
      want: ["node.kubernetes.io/unreachable:NoSchedule"],
    },
    {
      why: "cordoned",
      n: node("True", { unschedulable: true }),
      want: ["node.kubernetes.io/unschedulable:NoSchedule"],
    },
    {
      why: "ready again: the controller's taints go, the user's stay",
      n: node("True", {
        taints: [
          { key: "dedicated", value: "db", effect: "NoSchedule" },
          { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: STAMP },
        ],
      }),
      want: ["dedicated:NoSchedule"],
    },
    {
      why: "memory pressure",
      n: node("True", { conditions: [{ type: "MemoryPressure", status: "True" }] }),
      want: ["node.kubernetes.io/memory-pressure:NoSchedule"],
    },
  ];
  for (const c of cases) {
    const got = wantedTaints(c.n, c.evict ?? true, STAMP);
    assert.deepEqual(got?.map(key), c.want, c.why);
  }
  const noExecute = wantedTaints(node("False"), true, STAMP)?.find((t) => t.effect === "NoExecute");
  assert.equal(noExecute?.timeAdded, STAMP);
  // A taint that stays keeps its timeAdded: nothing to change.
  const kept = node("False", {
    taints: [
      { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" },
      {
        key: "node.kubernetes.io/not-ready",
        effect: "NoExecute",
        timeAdded: "2025-01-01T00:00:00Z",
      },
    ],
  });
  assert.equal(wantedTaints(kept, true, STAMP), undefined);
});

test("zone disruption holds NoExecute taints as kube's thresholds do", () => {
  const many = (ready: number, notReady: number, zone?: string) => [
    ...Array.from({ length: ready }, () => node("True", zone ? { zone } : {})),
    ...Array.from({ length: notReady }, () => node("Unknown", zone ? { zone } : {})),
  ];
  assert.equal(zoneState(many(0, 1)), "FullDisruption");
  assert.equal(zoneState(many(2, 3)), "PartialDisruption");
  assert.equal(zoneState(many(3, 2)), "Normal");
  assert.equal(zoneState(many(1, 2)), "Normal");
  const cases: { why: string; nodes: Node[]; want: boolean }[] = [
    { why: "the only node is down", nodes: many(0, 1), want: false },
    { why: "one of three nodes is down", nodes: many(2, 1), want: true },
    { why: "most of a small zone is down", nodes: many(2, 3), want: false },
    {
      why: "a whole zone is down, another is up",
      nodes: [...many(0, 2, "a"), ...many(2, 0, "b")],
      want: true,
    },
  ];
  for (const c of cases) {
    const down = c.nodes.find((n) => n.status?.conditions?.[0]?.status === "Unknown") as Node;
    assert.equal(mayEvict(down, c.nodes), c.want, c.why);
  }
});
