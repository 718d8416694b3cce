import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { compareForDeletion, podsToDelete } from "./_rank.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const ago = (s: number) => `${new Date(NOW - s * 1000).toISOString().slice(0, 19)}Z`;

interface Spec {
  node?: string;
  phase?: string;
  ready?: boolean;
  readyFor?: number;
  cost?: string;
  restarts?: number;
  age?: number;
  uid?: string;
}

function pod(name: string, s: Spec): Pod {
  return {
    metadata: {
      name,
      uid: s.uid ?? name,
      creationTimestamp: ago(s.age ?? 10_000),
      ...(s.cost !== undefined
        ? { annotations: { "controller.kubernetes.io/pod-deletion-cost": s.cost } }
        : {}),
    },
    spec: { containers: [], ...(s.node !== "" ? { nodeName: s.node ?? "n1" } : {}) },
    status: {
      phase: s.phase ?? "Running",
      conditions: [
        {
          type: "Ready",
          status: (s.ready ?? true) ? "True" : "False",
          lastTransitionTime: ago(s.readyFor ?? 5_000),
        },
      ],
      containerStatuses: [
        { name: "c", image: "i", imageID: "", ready: true, restartCount: s.restarts ?? 0 },
      ],
    },
  };
}

describe("compareForDeletion", () => {
  const cases: Array<{ name: string; first: Spec; second: Spec; rank?: [number, number] }> = [
    { name: "a pod not on a node goes before one on a node", first: { node: "" }, second: {} },
    { name: "Pending goes before Running", first: { phase: "Pending" }, second: {} },
    {
      name: "Pending goes before Unknown",
      first: { phase: "Pending" },
      second: { phase: "Unknown" },
    },
    { name: "Unknown goes before Running", first: { phase: "Unknown" }, second: {} },
    { name: "a not-ready pod goes before a ready one", first: { ready: false }, second: {} },
    { name: "a lower deletion cost goes first", first: { cost: "-5" }, second: { cost: "10" } },
    { name: "an absent cost counts as 0", first: {}, second: { cost: "1" } },
    { name: "an invalid cost counts as 0", first: { cost: "abc" }, second: { cost: "1" } },
    {
      name: "cost outranks readiness time",
      first: { cost: "1", readyFor: 1 },
      second: { cost: "2", readyFor: 9_000 },
    },
    { name: "a pod on a more crowded node goes first", first: {}, second: {}, rank: [3, 1] },
    {
      name: "ready for less time goes first",
      first: { readyFor: 10 },
      second: { readyFor: 10_000 },
    },
    { name: "more restarts go first", first: { restarts: 4 }, second: { restarts: 1 } },
    { name: "a newer pod goes first", first: { age: 20 }, second: { age: 20_000 } },
    {
      name: "ready times in the same log2 bucket fall back to the UID",
      first: { readyFor: 1000, uid: "a", restarts: 0 },
      second: { readyFor: 1001, uid: "b", restarts: 5 },
    },
    {
      name: "phase outranks readiness",
      first: { phase: "Pending", ready: true },
      second: { ready: false },
    },
    {
      name: "being unscheduled outranks phase",
      first: { node: "", phase: "Running" },
      second: { phase: "Pending" },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const a = { pod: pod("a", c.first), rank: c.rank?.[0] ?? 1 };
      const b = { pod: pod("b", c.second), rank: c.rank?.[1] ?? 1 };
      assert.ok(compareForDeletion(a, b, NOW) < 0, "first should sort first");
      assert.ok(compareForDeletion(b, a, NOW) > 0, "and the order is antisymmetric");
    });
  }
});

describe("podsToDelete", () => {
  test("picks the lowest-ranked pods, counting crowding over the related pods", () => {
    const pods = [
      pod("old-ready", { node: "n1", readyFor: 50_000 }),
      pod("lonely", { node: "n2", readyFor: 50_000 }),
      pod("pending", { node: "n1", phase: "Pending", ready: false }),
      pod("crowded", { node: "n3", readyFor: 50_000 }),
    ];
    const related = [...pods, pod("sibling1", { node: "n3" }), pod("sibling2", { node: "n3" })];
    const names = podsToDelete(pods, 2, { related, now: NOW }).map((p) => p.metadata?.name);
    assert.deepEqual(names, ["pending", "crowded"]);
  });
  test("returns every pod when asked for as many or more", () => {
    const pods = [pod("a", {}), pod("b", {})];
    assert.equal(podsToDelete(pods, 5).length, 2);
  });
});
