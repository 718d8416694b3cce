import assert from "node:assert/strict";
import { test } from "node:test";
import { percentiles, runLoad } from "./_load.ts";
import { type Row, ratio } from "./_report.ts";

test("percentiles picks the nearest-rank sample", () => {
  const cases: Array<[number[], { p50: number; p99: number; max: number }]> = [
    [[], { p50: 0, p99: 0, max: 0 }],
    [[7], { p50: 7, p99: 7, max: 7 }],
    [[4, 1, 3, 2], { p50: 2, p99: 4, max: 4 }],
    [Array.from({ length: 100 }, (_, i) => 100 - i), { p50: 50, p99: 99, max: 100 }],
    [Array.from({ length: 1000 }, (_, i) => i + 1), { p50: 500, p99: 990, max: 1000 }],
  ];
  for (const [samples, want] of cases) assert.deepEqual(percentiles(samples), want);
});

test("ratio is higher-is-better for rates and for latencies alike", () => {
  const row = (unit: Row["unit"], value: number, kind: "min" | "max", target: number): Row => ({
    backend: "x",
    measure: "m",
    value,
    unit,
    figure: "",
    target: { kind, value: target },
  });
  assert.equal(ratio(row("/s", 3000, "min", 2000)), 1.5);
  assert.equal(ratio(row("ms", 20, "max", 10)), 0.5);
  assert.equal(ratio({ backend: "x", measure: "m", value: 1, unit: "MiB", figure: "" }), undefined);
});

test("runLoad runs each index once, never more workers at a time than asked", async () => {
  const seen: number[] = [];
  let running = 0;
  let peak = 0;
  const r = await runLoad(
    async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(i);
      running--;
    },
    { concurrency: 4, count: 50 },
  );
  assert.equal(r.ops, 50);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(peak, 4);
});
