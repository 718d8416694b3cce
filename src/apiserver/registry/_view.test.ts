import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../../_testing/wait.ts";
import { REFS } from "../../api/refs.ts";
import type { KubeObject, WatchEvent } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

const V2 = REFS.horizontalpodautoscalers;
const V1: ResourceRef = { ...V2, version: "v1" };
const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };

function setup() {
  const { registry } = createRegistry(openStore({ backend: "memory" }, { freeze: true }));
  const v1 = (spec: object, annotations?: Record<string, string>): KubeObject => ({
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", ...(annotations ? { annotations } : {}) },
    spec: { scaleTargetRef: ref, maxReplicas: 5, ...spec },
  });
  return { registry, v1 };
}

const metricsOf = (o: KubeObject) => (o.spec as { metrics?: unknown }).metrics;

test("a v1 HorizontalPodAutoscaler is stored as v2 and read back in either version", () => {
  const { registry, v1 } = setup();
  const created = registry.createSync(V1, "default", v1({ targetCPUUtilizationPercentage: 50 }));
  assert.equal(created.apiVersion, "autoscaling/v1");
  assert.equal((created.spec as { minReplicas?: number }).minReplicas, 1);
  const asV2 = registry.getSync(V2, "default", "web");
  assert.equal(asV2.apiVersion, "autoscaling/v2");
  assert.deepEqual(metricsOf(asV2), [
    {
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
    },
  ]);
  const list = registry.listSync(V1, "default");
  assert.equal(list.apiVersion, "autoscaling/v1");
  assert.equal(list.kind, "HorizontalPodAutoscalerList");
  assert.equal(list.items[0]?.apiVersion, "autoscaling/v1");
  assert.equal(
    list.metadata.resourceVersion,
    registry.listSync(V2, "default").metadata.resourceVersion,
  );
});

test("a v1 body is checked as v1: its apiVersion must say v1 and v2-only fields are unknown", () => {
  const { registry, v1 } = setup();
  const wrong = { ...v1({}), apiVersion: "autoscaling/v2" };
  assert.throws(
    () => registry.createSync(V1, "default", wrong),
    /does not match the expected API version \(autoscaling\/v1\)/,
  );
  const warnings: string[] = [];
  registry.createSync(
    V1,
    "default",
    { ...v1({}), spec: { ...(v1({}).spec as object), metrics: [] } },
    {
      warn: (w) => warnings.push(w),
    },
  );
  assert.deepEqual(warnings, ['unknown field "spec.metrics"']);
});

test("patches apply to the version the request names and keep what v1 cannot show", () => {
  const { registry } = setup();
  registry.createSync(V2, "default", {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default" },
    spec: {
      scaleTargetRef: ref,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
        {
          type: "Resource",
          resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
    },
  });
  for (const [type, body] of [
    ["merge", { spec: { targetCPUUtilizationPercentage: 70 } }],
    ["strategic", { spec: { maxReplicas: 6 } }],
    ["json", [{ op: "replace", path: "/spec/minReplicas", value: 2 }]],
  ] as const) {
    registry.patchSync(V1, "default", "web", type, body);
  }
  const after = registry.getSync(V2, "default", "web");
  const spec = after.spec as Record<string, unknown>;
  assert.equal(spec.maxReplicas, 6);
  assert.equal(spec.minReplicas, 2);
  assert.deepEqual(metricsOf(after), [
    {
      type: "Resource",
      resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
    },
    {
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
    },
  ]);
  assert.equal(
    (spec.behavior as { scaleDown: { stabilizationWindowSeconds: number } }).scaleDown
      .stabilizationWindowSeconds,
    30,
  );
  assert.equal(after.metadata.annotations, undefined);
});

test("a status write through v1 lands in the v2 status", () => {
  const { registry, v1 } = setup();
  registry.createSync(V1, "default", v1({ targetCPUUtilizationPercentage: 50 }));
  const current = registry.getSync(V1, "default", "web");
  current.status = { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 80 };
  registry.updateSync({ ...V1, subresource: "status" }, "default", current);
  assert.deepEqual(registry.getSync(V2, "default", "web").status, {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 80 } } },
    ],
  });
});

test("a v1 watch sees v1 objects and server-side apply through v1 creates the object", async () => {
  const { registry } = setup();
  const events: WatchEvent[] = [];
  const w = registry.watch(
    V1,
    "default",
    { resourceVersion: registry.listSync(V1, "").metadata.resourceVersion },
    (e) => {
      events.push(e);
    },
  );
  registry.patchSync(
    V1,
    "default",
    "web",
    "apply",
    {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: { scaleTargetRef: ref, maxReplicas: 4, targetCPUUtilizationPercentage: 40 },
    },
    { fieldManager: "test" },
  );
  registry.deleteSync(V1, "default", "web");
  await waitFor(() => events.length >= 2, { what: "the watch to see ADDED and DELETED" });
  w.stop();
  assert.deepEqual(
    events.map((e) => [e.type, e.object.apiVersion]),
    [
      ["ADDED", "autoscaling/v1"],
      ["DELETED", "autoscaling/v1"],
    ],
  );
  assert.equal(
    (events[0]?.object.spec as { targetCPUUtilizationPercentage?: number } | undefined)
      ?.targetCPUUtilizationPercentage,
    40,
  );
});
