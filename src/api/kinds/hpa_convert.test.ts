import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { convertObject } from "./conversions.ts";
import {
  BEHAVIOR_ANNOTATION,
  CONDITIONS_ANNOTATION,
  CURRENT_METRICS_ANNOTATION,
  hpaToV1,
  hpaToV2,
  METRICS_ANNOTATION,
} from "./hpa_convert.ts";

const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };
const meta = { name: "web", namespace: "default", uid: "u1", resourceVersion: "7" };
const cpu = (u: number) => ({
  type: "Resource",
  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: u } },
});
const memory = {
  type: "Resource",
  resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
};
const pods = {
  type: "Pods",
  pods: { metric: { name: "rps" }, target: { type: "AverageValue", averageValue: "4" } },
};

const v2 = (spec: object, status: object = { desiredReplicas: 0, currentMetrics: null }) =>
  ({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...meta },
    spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 5, ...spec },
    status,
  }) as KubeObject;

const v1 = (spec: object, annotations?: Record<string, string>, status: object = {}) =>
  ({
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...meta, ...(annotations ? { annotations } : {}) },
    spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 5, ...spec },
    status: { currentReplicas: 0, desiredReplicas: 0, ...status },
  }) as KubeObject;

test("hpaToV1 shows a CPU utilization target as targetCPUUtilizationPercentage and nothing else", () => {
  const out = hpaToV1(v2({ metrics: [cpu(50)] }));
  assert.deepEqual(out, v1({ targetCPUUtilizationPercentage: 50 }));
});

test("hpaToV1 carries the other metrics, the behavior, current metrics and conditions in annotations", () => {
  const status = {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      {
        type: "Resource",
        resource: { name: "cpu", current: { averageUtilization: 75, averageValue: "150m" } },
      },
    ],
    conditions: [
      {
        type: "AbleToScale",
        status: "True",
        lastTransitionTime: "2026-01-01T00:00:00Z",
        reason: "SucceededRescale",
        message: "the HPA controller was able to update the target scale to 3",
      },
    ],
  };
  const behavior = {
    scaleDown: { stabilizationWindowSeconds: 30, selectPolicy: "Max", policies: [] },
  };
  const out = hpaToV1(v2({ metrics: [cpu(50), memory, pods], behavior }, status));
  const a = out.metadata.annotations ?? {};
  assert.deepEqual(JSON.parse(a[METRICS_ANNOTATION] ?? ""), [
    { type: "Resource", resource: { name: "memory", targetAverageValue: "100Mi" } },
    { type: "Pods", pods: { metricName: "rps", targetAverageValue: "4" } },
  ]);
  assert.equal(
    a[CURRENT_METRICS_ANNOTATION],
    '[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":75,"currentAverageValue":"150m"}}]',
  );
  // Go marshals the internal type: no json tags, so Go's field names.
  assert.equal(
    a[BEHAVIOR_ANNOTATION],
    '{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":30,"SelectPolicy":"Max","Policies":[]}}',
  );
  assert.equal(
    a[CONDITIONS_ANNOTATION],
    '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z","reason":"SucceededRescale","message":"the HPA controller was able to update the target scale to 3"}]',
  );
  assert.deepEqual(out.status, {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentCPUUtilizationPercentage: 75,
  });
  assert.equal(
    (out.spec as { targetCPUUtilizationPercentage?: number }).targetCPUUtilizationPercentage,
    50,
  );
});

test("hpaToV2 gives a v1 object without a target kube's implicit CPU target of 80%", () => {
  const out = hpaToV2(v1({}));
  assert.deepEqual((out.spec as { metrics: unknown }).metrics, [cpu(80)]);
});

test("hpaToV2 puts the CPU target after the annotation's metrics and drops the annotations", () => {
  const annotations = {
    [METRICS_ANNOTATION]:
      '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}},{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"4"}}]',
    team: "a",
  };
  const out = hpaToV2(v1({ targetCPUUtilizationPercentage: 70 }, annotations));
  assert.deepEqual((out.spec as { metrics: unknown }).metrics, [memory, pods, cpu(70)]);
  assert.deepEqual(out.metadata.annotations, { team: "a" });
});

test("hpaToV2 reads the behavior annotation case-insensitively, as Go's encoding/json", () => {
  const behavior =
    '{"scaleUp":{"stabilizationWindowSeconds":10},"ScaleDown":{"Policies":[{"Type":"Pods","Value":1,"PeriodSeconds":60}]}}';
  const out = hpaToV2(v1({}, { [BEHAVIOR_ANNOTATION]: behavior }));
  assert.deepEqual((out.spec as { behavior: unknown }).behavior, {
    scaleUp: { stabilizationWindowSeconds: 10 },
    scaleDown: { policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
  });
});

test("hpaToV2 turns currentCPUUtilizationPercentage into a current metric when no annotation has them", () => {
  const out = hpaToV2(
    v1({}, undefined, {
      currentReplicas: 2,
      desiredReplicas: 2,
      currentCPUUtilizationPercentage: 40,
    }),
  );
  assert.deepEqual(out.status, {
    currentReplicas: 2,
    desiredReplicas: 2,
    currentMetrics: [
      { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 40 } } },
    ],
  });
});

test("a v2 object survives a trip through v1 (metrics reordered CPU last, as on kube)", () => {
  const cases: Array<{ name: string; spec: object; status?: object; metrics?: unknown[] }> = [
    { name: "cpu only", spec: { metrics: [cpu(50)] } },
    { name: "memory only", spec: { metrics: [memory] } },
    {
      name: "cpu then others",
      spec: { metrics: [cpu(50), memory, pods] },
      metrics: [memory, pods, cpu(50)],
    },
    {
      name: "container resource and external",
      spec: {
        metrics: [
          {
            type: "ContainerResource",
            containerResource: {
              name: "cpu",
              container: "app",
              target: { type: "Utilization", averageUtilization: 60 },
            },
          },
          {
            type: "External",
            external: {
              metric: { name: "queue", selector: { matchLabels: { q: "a" } } },
              target: { type: "Value", value: "30" },
            },
          },
          {
            type: "Object",
            object: {
              describedObject: { apiVersion: "v1", kind: "Service", name: "web" },
              metric: { name: "hits" },
              target: { type: "Value", value: "10" },
            },
          },
        ],
      },
    },
    {
      name: "behavior and status",
      spec: {
        metrics: [cpu(50)],
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policies: [{ type: "Pods", value: 4, periodSeconds: 15 }],
          },
          scaleDown: {
            selectPolicy: "Disabled",
            policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
          },
        },
      },
      status: {
        lastScaleTime: "2026-01-01T00:00:00Z",
        currentReplicas: 3,
        desiredReplicas: 3,
        currentMetrics: [
          {
            type: "Resource",
            resource: { name: "cpu", current: { averageValue: "0", averageUtilization: 12 } },
          },
        ],
        conditions: [
          {
            type: "ScalingActive",
            status: "True",
            lastTransitionTime: "2026-01-01T00:00:00Z",
            reason: "ValidMetricFound",
            message: "m",
          },
        ],
      },
    },
  ];
  for (const c of cases) {
    const original = v2(c.spec, c.status ?? { desiredReplicas: 0, currentMetrics: null });
    const back = hpaToV2(hpaToV1(original));
    const want = structuredClone(original);
    if (c.metrics) (want.spec as { metrics: unknown }).metrics = c.metrics;
    assert.deepEqual(back, want, c.name);
  }
});

test("convertObject strips v1's annotations from a v2 view and never touches its input", () => {
  const input = Object.freeze(v2({ metrics: [cpu(50)] }));
  const withNotes = {
    ...input,
    metadata: { ...input.metadata, annotations: { [METRICS_ANNOTATION]: "[]", keep: "y" } },
  };
  const out = convertObject(withNotes, {
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
  });
  assert.deepEqual(out.metadata.annotations, { keep: "y" });
  assert.equal(withNotes.metadata.annotations[METRICS_ANNOTATION], "[]");
});

test("convertObject refuses an annotation that is not JSON", () => {
  assert.throws(
    () =>
      convertObject(v1({}, { [METRICS_ANNOTATION]: "{nope" }), {
        group: "autoscaling",
        version: "v2",
        kind: "HorizontalPodAutoscaler",
      }),
    /autoscaling.alpha.kubernetes.io\/metrics/,
  );
});
