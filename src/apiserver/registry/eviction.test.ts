import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError, type StatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

const READY = [{ type: "Ready", status: "True" }];

function setup(budget?: { spec: object; status: object }) {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  const make = (ref: typeof REFS.pods, obj: object) =>
    registry.createSync(ref, "default", obj as KubeObject);
  for (const name of ["a", "b"]) {
    make(REFS.pods, {
      metadata: { name, labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "x" }] },
    });
    registry.updateSync(sub(REFS.pods, "status"), "default", {
      metadata: { name },
      status: { phase: "Running", conditions: READY },
    } as unknown as KubeObject);
  }
  if (budget) {
    make(REFS.poddisruptionbudgets, {
      metadata: { name: "pdb" },
      spec: { selector: { matchLabels: { app: "web" } }, ...budget.spec },
    });
    const stored = registry.getSync(REFS.poddisruptionbudgets, "default", "pdb");
    registry.updateSync(sub(REFS.poddisruptionbudgets, "status"), "default", {
      ...stored,
      status: { observedGeneration: 1, ...budget.status },
    });
  }
  const evict = (name: string) =>
    registry.createSync(
      sub(REFS.pods, "eviction"),
      "default",
      { apiVersion: "policy/v1", kind: "Eviction", metadata: { name } } as KubeObject,
      { name },
    );
  const exists = (name: string) => {
    try {
      registry.getSync(REFS.pods, "default", name);
      return true;
    } catch {
      return false;
    }
  };
  return { registry, evict, exists };
}

const refusal = (fn: () => unknown): StatusError => {
  try {
    fn();
  } catch (e) {
    if (isStatusError(e)) return e;
    throw e;
  }
  throw new Error("not refused");
};

test("evicting a pod no budget selects deletes it and answers Success", () => {
  const { evict, exists } = setup();
  const answer = evict("a") as unknown as { status: string };
  assert.equal(answer.status, "Success");
  assert.equal(exists("a"), false);
});

test("an evicted pod that terminates gracefully carries kube's DisruptionTarget condition", () => {
  const { evict, registry } = setup();
  registry.createSync(
    sub(REFS.pods, "binding"),
    "default",
    {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "b" },
      target: { kind: "Node", name: "n" },
    } as KubeObject,
    { name: "b" },
  );
  evict("b");
  const pod = registry.getSync(REFS.pods, "default", "b");
  assert.ok(pod.metadata.deletionTimestamp, "deleted gracefully");
  const conditions = (pod.status as { conditions: Array<Record<string, unknown>> }).conditions;
  const target = conditions.find((c) => c.type === "DisruptionTarget");
  assert.deepEqual(
    [target?.status, target?.reason, target?.message],
    ["True", "EvictionByEvictionAPI", "Eviction API: evicting"],
  );
});

test("a budget with no disruptions left refuses with kube's 429 and cause", () => {
  const { evict, exists } = setup({
    spec: { minAvailable: 2 },
    status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 },
  });
  const e = refusal(() => evict("a"));
  assert.equal(e.code, 429);
  assert.equal(e.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  assert.deepEqual(e.details?.causes, [
    {
      reason: "DisruptionBudget",
      message: "The disruption budget pdb needs 2 healthy pods and has 2 currently",
    },
  ]);
  assert.equal(exists("a"), true);
});

test("an eviction the budget allows uses one disruption and records the pod", () => {
  const { evict, exists, registry } = setup({
    spec: { minAvailable: 1 },
    status: { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 },
  });
  evict("a");
  assert.equal(exists("a"), false);
  const status = registry.getSync(REFS.poddisruptionbudgets, "default", "pdb").status as {
    disruptionsAllowed: number;
    disruptedPods: Record<string, string>;
  };
  assert.equal(status.disruptionsAllowed, 0);
  assert.deepEqual(Object.keys(status.disruptedPods), ["a"]);
  assert.equal(refusal(() => evict("b")).code, 429);
});

test("a budget its controller has not observed yet refuses; a mismatched name is a bad request", () => {
  const { evict, registry } = setup({
    spec: { minAvailable: 1 },
    status: { disruptionsAllowed: 1, observedGeneration: 0 },
  });
  assert.match(
    refusal(() => evict("a")).details?.causes?.[0]?.message ?? "",
    /still being processed/,
  );
  const e = refusal(() =>
    registry.createSync(
      sub(REFS.pods, "eviction"),
      "default",
      { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "b" } } as KubeObject,
      { name: "a" },
    ),
  );
  assert.equal(e.message, "name in URL does not match name in Eviction object");
});
