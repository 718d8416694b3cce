import assert from "node:assert/strict";
import { test } from "node:test";
import type { HorizontalPodAutoscaler } from "kubernetes-types/autoscaling/v2.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { newMemory } from "./_normalize.ts";
import type { PodSample } from "./_replicas.ts";
import { type HpaDeps, reconcileHpa, type ScaleView } from "./reconcile.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function pod(name: string): Pod {
  const started = new Date(NOW - 600_000).toISOString();
  return {
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "c", resources: { requests: { cpu: "100m" } } }] },
    status: {
      phase: "Running",
      startTime: started,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: started }],
    },
  };
}

function fixture(options: {
  replicas: number;
  cpu?: number;
  scaleError?: string;
  metricsError?: string;
}) {
  const hpa: HorizontalPodAutoscaler = {
    metadata: { name: "web", namespace: "default" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
    },
    status: { desiredReplicas: 0 },
  };
  let scale: ScaleView = {
    spec: { replicas: options.replicas },
    status: { replicas: options.replicas, selector: "app=web" },
  };
  const pods = Array.from({ length: options.replicas }, (_, i) => pod(`web-${i}`));
  const events: string[] = [];
  const written: HorizontalPodAutoscaler[] = [];
  const memory = newMemory();
  const deps: HpaDeps = {
    getHpa: () => written.at(-1) ?? hpa,
    getScale: async () => {
      if (options.scaleError) throw new Error(options.scaleError);
      return scale;
    },
    updateScale: async (_ns, _ref, next) => {
      scale = next;
    },
    listPods: (_ns, matches) => pods.filter((p) => matches(p.metadata?.labels ?? {})),
    podSamples: async () => {
      if (options.metricsError) throw new Error(options.metricsError);
      const samples = new Map<string, PodSample>();
      for (const p of pods) {
        samples.set(p.metadata?.name ?? "", {
          timestampMs: NOW,
          windowMs: 15_000,
          containers: [{ name: "c", usage: { cpu: options.cpu ?? 0 } }],
        });
      }
      return samples;
    },
    writeStatus: async (h) => {
      written.push(h);
    },
    event: (_h, type, reason, message) => events.push(`${type} ${reason}: ${message}`),
    memory: () => memory,
    forget: () => {},
    now: () => NOW,
  };
  return { deps, events, written, scale: () => scale };
}

const conditions = (h: HorizontalPodAutoscaler | undefined) =>
  h?.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);

test("reconcileHpa scales up on high CPU with kube's event, conditions and status", async () => {
  const f = fixture({ replicas: 2, cpu: 100 });
  assert.deepEqual(await reconcileHpa("default/web", f.deps), { requeueAfter: 15_000 });
  assert.equal(f.scale().spec?.replicas, 4);
  assert.deepEqual(f.events, [
    "Normal SuccessfulRescale: New size: 4; reason: cpu resource utilization (percentage of request) above target",
  ]);
  const status = f.written.at(-1)?.status;
  assert.equal(status?.currentReplicas, 2);
  assert.equal(status?.desiredReplicas, 4);
  assert.equal(status?.lastScaleTime, "2026-01-01T12:00:00Z");
  assert.deepEqual(status?.currentMetrics, [
    {
      type: "Resource",
      resource: { name: "cpu", current: { averageUtilization: 100, averageValue: "100m" } },
    },
  ]);
  assert.deepEqual(conditions(f.written.at(-1)), [
    "AbleToScale=True SucceededRescale: the HPA controller was able to update the target scale to 4",
    "ScalingActive=True ValidMetricFound: the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
    "ScalingLimited=False DesiredWithinRange: the desired count is within the acceptable range",
  ]);
});

test("reconcileHpa writes nothing when a second sync finds the same status", async () => {
  const f = fixture({ replicas: 2, cpu: 50 });
  await reconcileHpa("default/web", f.deps);
  assert.equal(f.written.length, 1);
  await reconcileHpa("default/web", f.deps);
  assert.equal(f.written.length, 1);
  assert.equal(f.scale().spec?.replicas, 2);
});

test("reconcileHpa reports a target it cannot read as FailedGetScale", async () => {
  const f = fixture({ replicas: 2, scaleError: 'deployments.apps "web" not found' });
  await reconcileHpa("default/web", f.deps);
  assert.deepEqual(f.events, ['Warning FailedGetScale: deployments.apps "web" not found']);
  assert.deepEqual(conditions(f.written.at(-1)), [
    `AbleToScale=False FailedGetScale: the HPA controller was unable to get the target's current scale: deployments.apps "web" not found`,
  ]);
});

test("reconcileHpa without resource metrics sets ScalingActive False and keeps the count", async () => {
  const f = fixture({
    replicas: 2,
    metricsError: "the server could not find the requested resource",
  });
  await reconcileHpa("default/web", f.deps);
  assert.equal(f.scale().spec?.replicas, 2);
  const inner =
    "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource";
  assert.deepEqual(f.events, [
    `Warning FailedGetResourceMetric: ${inner}`,
    `Warning FailedComputeMetricsReplicas: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${inner}`,
  ]);
  assert.deepEqual(
    conditions(f.written.at(-1))?.[1],
    `ScalingActive=False FailedGetResourceMetric: the HPA was unable to compute the replica count: ${inner}`,
  );
});

test("reconcileHpa leaves a target scaled to zero alone", async () => {
  const f = fixture({ replicas: 0, cpu: 100 });
  await reconcileHpa("default/web", f.deps);
  assert.equal(f.scale().spec?.replicas, 0);
  assert.deepEqual(f.events, []);
  assert.match(
    conditions(f.written.at(-1))?.[1] ?? "",
    /^ScalingActive=False ScalingDisabled: scaling is disabled since the replica count of the target is zero$/,
  );
});
