import assert from "node:assert/strict";
import { test } from "node:test";
import { humanDuration, shortHumanDuration, sinceTimestamp } from "./duration.ts";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;
const y = 365 * d;

test("humanDuration matches apimachinery at every boundary", () => {
  const cases: [number, string][] = [
    [-2 * s, "<invalid>"],
    [-1999, "0s"],
    [-1 * s, "0s"],
    [-999, "0s"],
    [0, "0s"],
    [999, "0s"],
    [1 * s, "1s"],
    [119 * s + 999, "119s"],
    [2 * m, "2m"],
    [2 * m + 1 * s, "2m1s"],
    [9 * m + 59 * s, "9m59s"],
    [10 * m, "10m"],
    [10 * m + 59 * s, "10m"],
    [3 * h - 1, "179m"],
    [3 * h, "3h"],
    [3 * h + 1 * m, "3h1m"],
    [7 * h + 59 * m, "7h59m"],
    [8 * h, "8h"],
    [47 * h + 59 * m, "47h"],
    [48 * h, "2d"],
    [2 * d + 1 * h, "2d1h"],
    [8 * d - 1, "7d23h"],
    [8 * d, "8d"],
    [2 * y - 1, "729d"],
    [2 * y, "2y"],
    [2 * y + 1 * d, "2y1d"],
    [8 * y - 1, "7y364d"],
    [8 * y, "8y"],
    [20 * y + 100 * d, "20y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test("shortHumanDuration keeps one unit", () => {
  const cases: [number, string][] = [
    [-2 * s, "<invalid>"],
    [-1 * s, "0s"],
    [59 * s, "59s"],
    [60 * s, "1m"],
    [59 * m + 59 * s, "59m"],
    [1 * h, "1h"],
    [23 * h + 59 * m, "23h"],
    [1 * d, "1d"],
    [364 * d, "364d"],
    [365 * d, "1y"],
  ];
  for (const [ms, want] of cases) assert.equal(shortHumanDuration(ms), want, `${ms} ms`);
});

test("sinceTimestamp reads RFC 3339 and reports <unknown> without one", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  assert.equal(sinceTimestamp("2026-01-01T00:00:00Z", now), "10m");
  assert.equal(sinceTimestamp(undefined, now), "<unknown>");
  assert.equal(sinceTimestamp("garbage", now), "<unknown>");
});
