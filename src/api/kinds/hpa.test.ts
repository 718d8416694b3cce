import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { formatHpaTargets, hpaStrategy } from "./hpa.ts";

const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };
const hpa = (spec: object): KubeObject => ({
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "web", namespace: "default" },
  spec: { scaleTargetRef: ref, maxReplicas: 5, ...spec },
});
const cpu = (u: number) => ({
  type: "Resource",
  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: u } },
});

test("hpaStrategy defaults minReplicas to 1 and the metrics to CPU at 80%", () => {
  const obj = hpa({});
  hpaStrategy.applyDefaults(obj);
  assert.deepEqual(obj.spec, {
    scaleTargetRef: ref,
    maxReplicas: 5,
    minReplicas: 1,
    metrics: [cpu(80)],
  });
});

test("hpaStrategy fills a given behavior from kube's rules, leaving scale-down's window to the controller", () => {
  const obj = hpa({
    metrics: [cpu(50)],
    behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
  });
  hpaStrategy.applyDefaults(obj);
  assert.deepEqual((obj.spec as { behavior: unknown }).behavior, {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: 30,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    },
  });
  const none = hpa({ metrics: [cpu(50)] });
  hpaStrategy.applyDefaults(none);
  assert.equal((none.spec as { behavior?: unknown }).behavior, undefined);
});

test("hpaStrategy validates as kube-apiserver, with its messages", () => {
  const cases: Array<{ name: string; spec: object; want: string[] }> = [
    { name: "valid", spec: { metrics: [cpu(50)] }, want: [] },
    {
      name: "replica bounds",
      spec: { minReplicas: 3, maxReplicas: 2 },
      want: ["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"],
    },
    {
      name: "zero replicas",
      spec: { minReplicas: 0, maxReplicas: 0, metrics: [cpu(50)] },
      want: [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.maxReplicas: Invalid value: 0: must be greater than 0",
        "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas",
      ],
    },
    {
      name: "target reference",
      spec: { scaleTargetRef: { kind: "", name: "a/b" } },
      want: [
        "spec.scaleTargetRef.kind: Required value",
        "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'",
      ],
    },
    {
      name: "utilization target",
      spec: { metrics: [cpu(0)] },
      want: [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
      ],
    },
    {
      name: "resource without a target",
      spec: {
        metrics: [{ type: "Resource", resource: { name: "", target: { type: "Utilization" } } }],
      },
      want: [
        "spec.metrics[0].resource.name: Required value: must specify a resource name",
        "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization",
      ],
    },
    {
      name: "both targets",
      spec: {
        metrics: [
          {
            type: "Resource",
            resource: {
              name: "memory",
              target: { type: "Bogus", averageValue: "-1", averageUtilization: 5 },
            },
          },
        ],
      },
      want: [
        'spec.metrics[0].resource.target.type: Invalid value: "Bogus": must be either Utilization, Value, or AverageValue',
        'spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive',
        "spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization",
      ],
    },
    {
      name: "source missing and another given",
      spec: {
        metrics: [
          {
            type: "Pods",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 5 } },
          },
        ],
      },
      want: [
        "spec.metrics[0].pods: Required value: must populate information for the given metric source",
      ],
    },
    {
      name: "pods metric without a value",
      spec: {
        metrics: [
          { type: "Pods", pods: { metric: { name: "" }, target: { type: "AverageValue" } } },
        ],
      },
      want: [
        "spec.metrics[0].pods.metric.name: Required value: must specify a metric name",
        "spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target averageValue",
      ],
    },
    {
      name: "unknown source type",
      spec: { metrics: [{ type: "Magic" }] },
      want: [
        'spec.metrics[0].type: Unsupported value: "Magic": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"',
        'spec.metrics[0].type: Unsupported value: "Magic": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"',
      ],
    },
    {
      name: "container resource",
      spec: {
        metrics: [
          {
            type: "ContainerResource",
            containerResource: {
              name: "cpu",
              container: "",
              target: { type: "Utilization", averageUtilization: 50 },
            },
          },
        ],
      },
      want: [
        "spec.metrics[0].containerResource.container: Required value: must specify a container",
      ],
    },
    {
      name: "behavior rules",
      spec: {
        metrics: [cpu(50)],
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 3601, selectPolicy: "Fastest", policies: [] },
          scaleDown: {
            stabilizationWindowSeconds: -1,
            policies: [{ type: "Nodes", value: 0, periodSeconds: 1801 }],
          },
        },
      },
      want: [
        "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600",
        'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Fastest": supported values: "Disabled", "Max", "Min"',
        "spec.behavior.scaleUp.policies: Required value: must specify at least one Policy",
        "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero",
        'spec.behavior.scaleDown.policies[0].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"',
        "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
        "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
      ],
    },
  ];
  for (const c of cases) {
    const obj = hpa(c.spec);
    hpaStrategy.applyDefaults(obj);
    const got = hpaStrategy.validate(obj).map((e) => `${e.field}: ${e.message}`);
    assert.deepEqual(got, c.want, c.name);
  }
});

test("hpaStrategy lets an update keep minReplicas 0 on an object that already had it", () => {
  const old = hpa({
    minReplicas: 0,
    metrics: [
      {
        type: "External",
        external: { metric: { name: "q" }, target: { type: "Value", value: "1" } },
      },
    ],
  });
  const next = structuredClone(old);
  assert.deepEqual(hpaStrategy.validateUpdate(next, old), []);
});

test("hpaStrategy's create clears status to what kube stores for a new object", () => {
  const obj = { ...hpa({}), status: { currentReplicas: 9 } };
  hpaStrategy.prepareForCreate?.(obj);
  assert.deepEqual(obj.status, { desiredReplicas: 0, currentMetrics: null });
});

test("formatHpaTargets prints TARGETS as kubectl 1.32", () => {
  const memory = {
    type: "Resource",
    resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
  };
  const pods = {
    type: "Pods",
    pods: { metric: { name: "rps" }, target: { type: "AverageValue", averageValue: "4" } },
  };
  const external = (target: object) => ({
    type: "External",
    external: { metric: { name: "q" }, target },
  });
  const cases: Array<{ name: string; metrics: unknown[]; current?: unknown; want: string }> = [
    { name: "no metrics", metrics: [], want: "<none>" },
    { name: "not measured yet", metrics: [cpu(50)], current: null, want: "cpu: <unknown>/50%" },
    {
      name: "measured",
      metrics: [cpu(50)],
      current: [
        {
          type: "Resource",
          resource: { name: "cpu", current: { averageUtilization: 45, averageValue: "45m" } },
        },
      ],
      want: "cpu: 45%/50%",
    },
    {
      name: "an average value",
      metrics: [memory],
      current: [
        { type: "Resource", resource: { name: "memory", current: { averageValue: "52428800" } } },
      ],
      want: "memory: 52428800/100Mi",
    },
    {
      name: "pods and external",
      metrics: [pods, external({ type: "Value", value: "30" })],
      want: "<unknown>/4, <unknown>/30",
    },
    {
      name: "external average",
      metrics: [external({ type: "AverageValue", averageValue: "3" })],
      want: "<unknown>/3 (avg)",
    },
    {
      name: "more than two",
      metrics: [cpu(50), memory, pods],
      want: "cpu: <unknown>/50%, memory: <unknown>/100Mi + 1 more...",
    },
  ];
  for (const c of cases) {
    assert.equal(
      formatHpaTargets({ metrics: c.metrics }, { currentMetrics: c.current ?? null }),
      c.want,
      c.name,
    );
  }
});

test("hpaStrategy prints a v1 view with the v2 columns", () => {
  const v1: KubeObject = {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      scaleTargetRef: ref,
      minReplicas: 1,
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 50,
    },
    status: { currentReplicas: 2, desiredReplicas: 2, currentCPUUtilizationPercentage: 61 },
  };
  const now = Date.parse("2026-01-01T00:05:00Z");
  assert.deepEqual(hpaStrategy.row(v1, now), [
    "web",
    "Deployment/web",
    "cpu: 61%/50%",
    "1",
    5,
    2,
    "5m",
  ]);
});
