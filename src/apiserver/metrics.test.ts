import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatBytes,
  formatNanoCores,
  goDuration,
  metricsTable,
  nodeMetrics,
  podMetrics,
} from "./metrics.ts";

describe("formatNanoCores prints apimachinery's canonical decimal quantity", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [1, "1n"],
    [123456, "123456n"],
    [1_500_000, "1500u"],
    [5_000_000, "5m"],
    [250_000_000, "250m"],
    [2_000_000_000, "2"],
    [1_234_567_891, "1234567891n"],
    [-5, "0"],
  ];
  for (const [n, want] of cases)
    test(`${n} → ${want}`, () => assert.equal(formatNanoCores(n), want));
});

describe("formatBytes prints apimachinery's canonical binary quantity", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [512, "512"],
    [1000, "1k"],
    [1500, "1500"],
    [4096, "4Ki"],
    [10_485_760, "10Mi"],
    [12_345_344, "12056Ki"],
    [3 * 2 ** 30, "3Gi"],
  ];
  for (const [n, want] of cases) test(`${n} → ${want}`, () => assert.equal(formatBytes(n), want));
});

describe("goDuration prints time.Duration.String() to the millisecond", () => {
  const cases: Array<[number, string]> = [
    [0, "0s"],
    [250, "250ms"],
    [15_000, "15s"],
    [10_500, "10.5s"],
    [10_035, "10.035s"],
    [60_500, "1m0.5s"],
    [3_600_000, "1h0m0s"],
  ];
  for (const [ms, want] of cases)
    test(`${ms} ms → ${want}`, () => assert.equal(goDuration(ms), want));
});

test("podMetrics carries the pod's name, namespace and labels and each container's usage", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  const got = podMetrics(
    { name: "web", namespace: "default", labels: { app: "web" } },
    {
      timestamp: new Date("2026-01-02T03:04:00.900Z"),
      windowMs: 10_500,
      containers: [{ name: "app", cpuNanoCores: 1_234_567, memoryBytes: 8192 }],
    },
    now,
  );
  assert.deepEqual(got, {
    kind: "PodMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: {
      name: "web",
      namespace: "default",
      creationTimestamp: "2026-01-02T03:04:05Z",
      labels: { app: "web" },
    },
    timestamp: "2026-01-02T03:04:00Z",
    window: "10.5s",
    containers: [{ name: "app", usage: { cpu: "1234567n", memory: "8Ki" } }],
  });
});

test("nodeMetrics has no namespace and one usage", () => {
  const now = new Date("2026-01-02T03:04:05Z");
  const got = nodeMetrics(
    { name: "n1" },
    { timestamp: now, windowMs: 15_000, cpuNanoCores: 2e9, memoryBytes: 2 ** 30 },
    now,
  );
  assert.deepEqual(got.metadata, { name: "n1", creationTimestamp: "2026-01-02T03:04:05Z" });
  assert.deepEqual(got["usage"], { cpu: "2", memory: "1Gi" });
  assert.equal(got.window, "15s");
});

test("metricsTable has metrics-server's columns and one row per object", () => {
  const now = new Date();
  const object = nodeMetrics(
    { name: "n1" },
    { timestamp: now, windowMs: 15_000, cpuNanoCores: 5e6, memoryBytes: 4096 },
    now,
  );
  const t = metricsTable([{ object, total: { cpuNanoCores: 5e6, memoryBytes: 4096 } }]);
  assert.deepEqual(
    t.columnDefinitions.map((c) => c.name),
    ["Name", "cpu", "memory", "Window"],
  );
  assert.deepEqual(t.rows[0]?.cells, ["n1", "5m", "4Ki", "15s"]);
});
