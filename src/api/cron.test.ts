import assert from "node:assert/strict";
import { test } from "node:test";
import { CronParseError, isKnownTimeZone, parseCronSchedule, parseGoDuration } from "./cron.ts";

const at = (s: string) => new Date(s);

test("parseCronSchedule finds the next activation strictly after a time, as robfig/cron", () => {
  const cases: Array<[string, string, string, string?]> = [
    ["*/1 * * * *", "2025-01-01T10:00:00Z", "2025-01-01T10:01:00Z"],
    ["*/1 * * * *", "2025-01-01T10:00:30.500Z", "2025-01-01T10:01:00Z"],
    ["*/15 * * * *", "2025-01-01T10:01:00Z", "2025-01-01T10:15:00Z"],
    ["5/15 * * * *", "2025-01-01T10:06:00Z", "2025-01-01T10:20:00Z"],
    ["0 9 * * 1-5", "2025-01-03T10:00:00Z", "2025-01-06T09:00:00Z"],
    ["0 0 1 * *", "2025-01-15T00:00:00Z", "2025-02-01T00:00:00Z"],
    ["0 0 ? * SUN", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z"],
    ["0 12 * JAN,jul *", "2025-02-01T00:00:00Z", "2025-07-01T12:00:00Z"],
    // Both day fields restricted: either matches (the 13th, or any Friday).
    ["0 0 13 * 5", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z"],
    // A stepped day field is restricted too (robfig clears the star bit).
    ["0 0 */10 * 1", "2025-01-02T00:00:00Z", "2025-01-06T00:00:00Z"],
    ["@hourly", "2025-01-01T10:30:00Z", "2025-01-01T11:00:00Z"],
    ["@daily", "2025-01-01T10:30:00Z", "2025-01-02T00:00:00Z"],
    ["@midnight", "2025-01-01T10:30:00Z", "2025-01-02T00:00:00Z"],
    ["@weekly", "2025-01-01T10:30:00Z", "2025-01-05T00:00:00Z"],
    ["@monthly", "2025-01-01T10:30:00Z", "2025-02-01T00:00:00Z"],
    ["@yearly", "2025-01-01T10:30:00Z", "2026-01-01T00:00:00Z"],
    ["@annually", "2025-01-01T10:30:00Z", "2026-01-01T00:00:00Z"],
    ["@every 90s", "2025-01-01T10:00:00.700Z", "2025-01-01T10:01:30Z"],
    ["@every 1h30m", "2025-01-01T10:00:00Z", "2025-01-01T11:30:00Z"],
    ["@every 200ms", "2025-01-01T10:00:00Z", "2025-01-01T10:00:01Z"],
    // Time zones: 09:00 in New York is 14:00 UTC in winter, 13:00 in summer.
    ["0 9 * * *", "2025-01-01T00:00:00Z", "2025-01-01T14:00:00Z", "America/New_York"],
    ["0 9 * * *", "2025-07-01T00:00:00Z", "2025-07-01T13:00:00Z", "America/New_York"],
    ["TZ=Asia/Tokyo 0 9 * * *", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"],
    ["CRON_TZ=UTC 30 2 * * *", "2025-01-01T00:00:00Z", "2025-01-01T02:30:00Z", "Asia/Tokyo"],
  ];
  for (const [spec, after, want, zone] of cases) {
    const got = parseCronSchedule(spec, zone ?? "UTC").next(at(after));
    assert.equal(got?.toISOString(), at(want).toISOString(), `${spec} after ${after}`);
  }
});

test("parseCronSchedule refuses what kube refuses, with robfig/cron's messages", () => {
  const cases: Array<[string, string]> = [
    ["", "empty spec string"],
    ["foo", "expected exactly 5 fields, found 1: [foo]"],
    ["* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"],
    ["60 * * * *", "end of range (60) above maximum (59): 60"],
    ["* 24 * * *", "end of range (24) above maximum (23): 24"],
    ["* * 0 * *", "beginning of range (0) below minimum (1): 0"],
    ["* * * * 7", "end of range (7) above maximum (6): 7"],
    ["5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2"],
    ["*/0 * * * *", "step of range should be a positive number: */0"],
    ["1-2-3 * * * *", "too many hyphens: 1-2-3"],
    ["1/2/3 * * * *", "too many slashes: 1/2/3"],
    ["L * * * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'],
    ["* * L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'],
    ["* * * * 1#2", 'failed to parse int from 1#2: strconv.Atoi: parsing "1#2": invalid syntax'],
    ["@reboot", "unrecognized descriptor: @reboot"],
    ["@every x", 'failed to parse duration @every x: time: invalid duration "x"'],
    [
      "TZ=Nowhere/City * * * * *",
      "provided bad location Nowhere/City: unknown time zone Nowhere/City",
    ],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseCronSchedule(spec),
      (e) => e instanceof CronParseError && e.message === message,
      spec,
    );
  }
});

test("parseGoDuration reads Go durations", () => {
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("300ms"), 300);
  assert.equal(parseGoDuration("0"), 0);
  assert.throws(() => parseGoDuration("5"));
  assert.throws(() => parseGoDuration("5d"));
});

test("isKnownTimeZone accepts IANA names exactly as spelled", () => {
  assert.equal(isKnownTimeZone("Europe/Berlin"), true);
  assert.equal(isKnownTimeZone("UTC"), true);
  assert.equal(isKnownTimeZone("europe/berlin"), false);
  assert.equal(isKnownTimeZone("Mars/Olympus"), false);
});
