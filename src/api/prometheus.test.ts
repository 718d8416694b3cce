import assert from "node:assert/strict";
import { test } from "node:test";
import { writeProcessMetrics } from "./processmetrics.ts";
import {
  bucketIndex,
  escapeLabelValue,
  exponentialBuckets,
  formatValue,
  Histogram,
  PrometheusWriter,
} from "./prometheus.ts";

test("formatValue prints numbers as Go's FormatFloat(v, 'g', -1, 64)", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "0"],
    [1, "1"],
    [-1, "-1"],
    [42, "42"],
    [0.5, "0.5"],
    [0.005, "0.005"],
    [0.00025, "0.00025"],
    [0.0001, "0.0001"],
    [0.0000125, "1.25e-05"],
    [100000, "100000"],
    [999999, "999999"],
    [1000000, "1e+06"],
    [1e9, "1e+09"],
    [43315200, "4.33152e+07"],
    [1234567.5, "1.2345675e+06"],
    [-2500000, "-2.5e+06"],
    [1e100, "1e+100"],
    [1.5e-300, "1.5e-300"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
    [Number.NaN, "NaN"],
  ];
  for (const [v, want] of cases) assert.equal(formatValue(v), want, `formatValue(${v})`);
});

test("escapeLabelValue escapes backslash, double quote and newline only", () => {
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["", ""],
    ['say "hi"', 'say \\"hi\\"'],
    ["a\\b", "a\\\\b"],
    ["two\nlines", "two\\nlines"],
    ["tab\tstays", "tab\tstays"],
    ["/healthz", "/healthz"],
  ];
  for (const [v, want] of cases) assert.equal(escapeLabelValue(v), want);
});

test("PrometheusWriter writes HELP and TYPE once per family, then its samples", () => {
  const w = new PrometheusWriter();
  w.family("x_total", "counter", "Counts x.\nSecond line with a \\ backslash.");
  w.sample("x_total", [["code", "200"]], 3);
  w.sample("x_total", [["code", '4"04']], 1);
  w.family("x_total", "counter", "ignored: declared already");
  w.family("empty", "gauge", "A family without samples is left out.");
  w.family("up", "gauge", "Up.");
  w.sample("up", [], 1);
  assert.equal(
    w.text(),
    [
      "# HELP x_total Counts x.\\nSecond line with a \\\\ backslash.",
      "# TYPE x_total counter",
      'x_total{code="200"} 3',
      'x_total{code="4\\"04"} 1',
      "# HELP up Up.",
      "# TYPE up gauge",
      "up 1",
      "",
    ].join("\n"),
  );
});

test("PrometheusWriter.histogram writes cumulative buckets, +Inf, sum and count", () => {
  const h = new Histogram([0.1, 1, 10]);
  for (const v of [0.05, 0.1, 0.5, 2, 20, 30]) h.observe(v);
  assert.equal(h.count, 6);
  const w = new PrometheusWriter().family("d_seconds", "histogram", "Durations.");
  w.histogram("d_seconds", [["verb", "GET"]], h);
  assert.equal(
    w.text(),
    [
      "# HELP d_seconds Durations.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{verb="GET",le="0.1"} 2',
      'd_seconds_bucket{verb="GET",le="1"} 3',
      'd_seconds_bucket{verb="GET",le="10"} 4',
      'd_seconds_bucket{verb="GET",le="+Inf"} 6',
      'd_seconds_sum{verb="GET"} 52.65',
      'd_seconds_count{verb="GET"} 6',
      "",
    ].join("\n"),
  );
});

test("a sample of an undeclared family is a programming error", () => {
  assert.throws(() => new PrometheusWriter().sample("nope", [], 1), /not declared/);
});

test("bucketIndex puts a value on a bound into that bound's bucket", () => {
  const bounds = [1, 2, 4];
  const cases: [number, number][] = [
    [0, 0],
    [1, 0],
    [1.5, 1],
    [2, 1],
    [4, 2],
    [4.1, 3],
    [Number.POSITIVE_INFINITY, 3],
  ];
  for (const [v, want] of cases) assert.equal(bucketIndex(bounds, v), want, `value ${v}`);
});

test("exponentialBuckets multiplies from the start as Go's ExponentialBuckets does", () => {
  assert.deepEqual(exponentialBuckets(1000, 10, 7), [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);
  assert.deepEqual(exponentialBuckets(0.00025, 2, 3), [0.00025, 0.0005, 0.001]);
});

test("writeProcessMetrics reports this process's CPU, memory, start time and file descriptors", () => {
  const w = new PrometheusWriter();
  writeProcessMetrics(w);
  const text = w.text();
  const value = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    assert.ok(m, `${name} present`);
    return Number(m[1]);
  };
  assert.ok(value("process_cpu_seconds_total") > 0);
  assert.ok(value("process_resident_memory_bytes") > 1e6);
  const start = value("process_start_time_seconds");
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600);
  if (process.platform === "linux") {
    assert.ok(value("process_open_fds") > 2);
    assert.ok(value("process_max_fds") >= value("process_open_fds"));
    assert.ok(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
  }
});
