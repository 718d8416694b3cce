import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { budgetStatus, DELETION_TIMEOUT_MS, reconcileBudget } from "./reconcile.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const podOf = (name: string, ready: boolean, extra: Partial<Pod["metadata"]> = {}): Pod => ({
  metadata: {
    name,
    namespace: "ns",
    labels: { app: "web" },
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true },
    ],
    ...extra,
  },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const budget = (spec: PodDisruptionBudget["spec"], status?: PodDisruptionBudget["status"]) =>
  ({
    metadata: { name: "b", namespace: "ns", generation: 2 },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
    ...(status ? { status } : {}),
  }) as PodDisruptionBudget;
const scale5 = () => ({ uid: "u1", replicas: 5 });

test("budgetStatus counts expected, desired and healthy pods as kube's disruption controller", () => {
  const pods = [podOf("a", true), podOf("b", true), podOf("c", true), podOf("d", false)];
  const cases: Array<[string, PodDisruptionBudget["spec"], [number, number, number, number]]> = [
    // [expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed]
    ["minAvailable count: expected is the pods", { minAvailable: 2 }, [4, 2, 3, 1]],
    ["minAvailable over the healthy", { minAvailable: 3 }, [4, 3, 3, 0]],
    ["minAvailable percent of the scale, rounded up", { minAvailable: "50%" }, [5, 3, 3, 0]],
    ["maxUnavailable count", { maxUnavailable: 1 }, [5, 4, 3, 0]],
    ["maxUnavailable percent rounded up", { maxUnavailable: "50%" }, [5, 2, 3, 1]],
    ["neither: nothing expected, nothing allowed", {}, [0, 0, 3, 0]],
  ];
  for (const [what, spec, [expected, desired, healthy, allowed]] of cases) {
    const { status } = budgetStatus(budget(spec), pods, scale5, NOW);
    assert.deepEqual(
      [
        status.expectedPods,
        status.desiredHealthy,
        status.currentHealthy,
        status.disruptionsAllowed,
      ],
      [expected, desired, healthy, allowed],
      what,
    );
    assert.equal(status.observedGeneration, 2, what);
    assert.equal(
      status.conditions?.[0]?.reason,
      allowed > 0 ? "SufficientPods" : "InsufficientPods",
    );
  }
});

test("budgetStatus keeps live evictions out of the healthy count and drops expired or gone ones", () => {
  const pods = [podOf("a", true), podOf("b", true), podOf("c", true, { deletionTimestamp: "x" })];
  const recent = new Date(NOW - 1000).toISOString();
  const old = new Date(NOW - DELETION_TIMEOUT_MS - 1).toISOString();
  const { status, recheckAt } = budgetStatus(
    budget(
      { minAvailable: 1 },
      {
        disruptedPods: { a: recent, b: old, c: recent, gone: recent },
        currentHealthy: 3,
        desiredHealthy: 1,
        disruptionsAllowed: 2,
        expectedPods: 3,
      },
    ),
    pods,
    scale5,
    NOW,
  );
  assert.deepEqual(status.disruptedPods, { a: recent });
  assert.equal(status.currentHealthy, 1);
  assert.equal(status.disruptionsAllowed, 0);
  assert.equal(recheckAt, NOW - 1000 + DELETION_TIMEOUT_MS);
});

test("budgetStatus fails safe with SyncFailed when a pod's controller cannot be found", () => {
  const { status } = budgetStatus(
    budget({ maxUnavailable: 1 }),
    [podOf("a", true)],
    () => {
      throw new Error('found no controllers for pod "a"');
    },
    NOW,
  );
  assert.equal(status.disruptionsAllowed, 0);
  assert.deepEqual(
    status.conditions?.map((c) => [c.status, c.reason, c.message]),
    [["False", "SyncFailed", 'found no controllers for pod "a"']],
  );
});

test("reconcileBudget writes the status only when it changed, and says when no pod matches", async () => {
  const writes: PodDisruptionBudget[] = [];
  const events: string[] = [];
  let stored = budget({ minAvailable: 1 });
  const deps = {
    getBudget: () => stored,
    podsIn: () => [podOf("a", true), podOf("b", true)],
    scaleOf: scale5,
    writeStatus: async (b: PodDisruptionBudget) => {
      writes.push(b);
      stored = b;
    },
    event: (_b: unknown, type: string, reason: string, message: string) => {
      events.push(`${type} ${reason} ${message}`);
    },
    now: () => NOW,
  };
  await reconcileBudget("ns/b", deps);
  await reconcileBudget("ns/b", deps);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.status?.disruptionsAllowed, 1);
  assert.deepEqual(events, []);
  await reconcileBudget("ns/b", { ...deps, podsIn: () => [] });
  assert.deepEqual(events, ["Normal NoPods No matching pods found"]);
});
