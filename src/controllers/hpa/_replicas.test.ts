import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { type PodSample, type ResourceTarget, resourceReplicas } from "./_replicas.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const iso = (t: number) => new Date(t).toISOString();

interface PodCase {
  /** CPU used, millicores; undefined: no sample. */
  cpu?: number;
  request?: string;
  phase?: "Running" | "Pending" | "Failed";
  ready?: boolean;
  deleting?: boolean;
  /** Seconds since the pod started (default 10 min: past the CPU initialisation period). */
  age?: number;
  /** Seconds since the Ready condition last changed (default: the pod's age). */
  readyFor?: number;
}

function build(cases: PodCase[]): { pods: Pod[]; samples: Map<string, PodSample> } {
  const pods: Pod[] = [];
  const samples = new Map<string, PodSample>();
  cases.forEach((p, i) => {
    const name = `p${i}`;
    const age = p.age ?? 600;
    pods.push({
      metadata: { name, ...(p.deleting ? { deletionTimestamp: iso(NOW) } : {}) },
      spec: {
        containers: [{ name: "c", resources: { requests: { cpu: p.request ?? "100m" } } }],
      },
      status: {
        phase: p.phase ?? "Running",
        startTime: iso(NOW - age * 1000),
        conditions: [
          {
            type: "Ready",
            status: p.ready === false ? "False" : "True",
            lastTransitionTime: iso(NOW - (p.readyFor ?? age) * 1000),
          },
        ],
      },
    });
    if (p.cpu !== undefined) {
      samples.set(name, {
        timestampMs: NOW,
        windowMs: 15_000,
        containers: [{ name: "c", usage: { cpu: p.cpu } }],
      });
    }
  });
  return { pods, samples };
}

const CPU_50: ResourceTarget = { resource: "cpu", utilization: 50 };

const cases: Array<{
  name: string;
  current: number;
  pods: PodCase[];
  target?: ResourceTarget;
  want: number | RegExp;
  utilization?: number;
}> = [
  {
    name: "usage at target keeps the count",
    current: 2,
    pods: [{ cpu: 50 }, { cpu: 50 }],
    want: 2,
    utilization: 50,
  },
  {
    name: "within the 10 % tolerance keeps the count",
    current: 2,
    pods: [{ cpu: 54 }, { cpu: 54 }],
    want: 2,
    utilization: 54,
  },
  {
    name: "just past the tolerance scales",
    current: 2,
    pods: [{ cpu: 56 }, { cpu: 56 }],
    want: 3,
    utilization: 56,
  },
  {
    name: "double the target doubles the count",
    current: 2,
    pods: [{ cpu: 100 }, { cpu: 100 }],
    want: 4,
    utilization: 100,
  },
  {
    name: "a tenth of the target scales down to the ceiling",
    current: 4,
    pods: [{ cpu: 5 }, { cpu: 5 }, { cpu: 5 }, { cpu: 5 }],
    want: 1,
    utilization: 5,
  },
  {
    name: "utilization is total usage over total requests",
    current: 2,
    pods: [
      { cpu: 150, request: "200m" },
      { cpu: 0, request: "100m" },
    ],
    want: 2,
    utilization: 50,
  },
  {
    name: "a missing pod counts as 100 % on a scale-down",
    current: 3,
    pods: [{ cpu: 10 }, { cpu: 10 }, {}],
    want: 3,
    utilization: 10,
  },
  {
    name: "a missing pod counts as 0 on a scale-up",
    current: 2,
    pods: [{ cpu: 200 }, {}],
    want: 4,
    utilization: 200,
  },
  {
    name: "a missing pod that flips the direction keeps the count",
    current: 2,
    pods: [{ cpu: 60 }, {}],
    want: 2,
    utilization: 60,
  },
  {
    name: "an unready pod counts as 0 on a scale-up",
    current: 2,
    pods: [{ cpu: 200 }, { cpu: 500, ready: false, age: 20 }],
    want: 4,
    utilization: 200,
  },
  {
    name: "an unready pod is left out of a scale-down",
    current: 2,
    pods: [{ cpu: 10 }, { cpu: 900, ready: false, age: 20 }],
    want: 1,
    utilization: 10,
  },
  {
    name: "a pending pod is unready",
    current: 2,
    pods: [{ cpu: 100 }, { phase: "Pending" }],
    want: 2,
    utilization: 100,
  },
  {
    name: "a failed pod is ignored",
    current: 2,
    pods: [{ cpu: 100 }, { cpu: 0, phase: "Failed" }],
    want: 2,
    utilization: 100,
  },
  {
    name: "a deleted pod is ignored",
    current: 2,
    pods: [{ cpu: 100 }, { cpu: 0, deleting: true }],
    want: 2,
    utilization: 100,
  },
  {
    name: "a young pod's sample within a window of Ready is unready",
    current: 2,
    pods: [{ cpu: 200 }, { cpu: 0, age: 60, readyFor: 10 }],
    want: 4,
    utilization: 200,
  },
  {
    name: "a young pod's sample a whole window after Ready counts",
    current: 2,
    pods: [{ cpu: 200 }, { cpu: 0, age: 60, readyFor: 20 }],
    want: 4,
    utilization: 100,
  },
  {
    name: "an AverageValue target divides the average by the target",
    current: 2,
    pods: [{ cpu: 300 }, { cpu: 100 }],
    target: { resource: "cpu", averageMilli: 100 },
    want: 4,
  },
  {
    name: "no sample at all fails with kube's message",
    current: 1,
    pods: [{}],
    want: /unable to get metrics for resource cpu: no metrics returned from resource metrics API/,
  },
  {
    name: "only unready samples fail with kube's message",
    current: 1,
    pods: [{ cpu: 10, phase: "Pending" }],
    want: /did not receive metrics for targeted pods \(pods might be unready\)/,
  },
  {
    name: "a container without a request fails with kube's message",
    current: 1,
    pods: [{ cpu: 10, request: undefined as unknown as string }],
    target: CPU_50,
    want: /missing request for cpu in container c of Pod p0/,
  },
];

for (const c of cases) {
  test(`resourceReplicas: ${c.name}`, () => {
    const { pods, samples } = build(c.pods);
    if (c.name.includes("without a request")) delete pods[0]?.spec?.containers[0]?.resources;
    const run = () =>
      resourceReplicas(
        { currentReplicas: c.current, pods, samples, target: c.target ?? CPU_50 },
        { now: NOW },
      );
    if (c.want instanceof RegExp) {
      assert.throws(run, c.want);
      return;
    }
    const got = run();
    assert.equal(got.replicas, c.want);
    if (c.utilization !== undefined) assert.equal(got.utilization, c.utilization);
  });
}
