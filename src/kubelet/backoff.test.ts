import assert from "node:assert/strict";
import { test } from "node:test";
import { CrashBackoff, goDuration } from "./backoff.ts";

test("CrashBackoff restarts at once, then waits 10 s doubling up to 300 s", () => {
  const b = new CrashBackoff({ initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 });
  let t = 0;
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    const w = b.next(t);
    waits.push(w / 1000);
    t += w + 1000; // runs one second, then crashes again
  }
  assert.deepEqual(waits, [0, 10, 20, 40, 80, 160, 300, 300]);
});

test("CrashBackoff starts over after ten quiet minutes", () => {
  const b = new CrashBackoff({ initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 });
  b.next(0);
  assert.equal(b.next(1000), 10_000);
  assert.equal(b.next(11_000 + 600_001), 0);
  assert.equal(b.next(11_000 + 600_002), 10_000);
});

for (const [ms, want] of [
  [200, "200ms"],
  [10_000, "10s"],
  [1_500, "1.5s"],
  [80_000, "1m20s"],
  [300_000, "5m0s"],
] as const) {
  test(`goDuration prints ${ms} ms as ${want}`, () => assert.equal(goDuration(ms), want));
}
