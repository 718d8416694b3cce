import assert from "node:assert/strict";
import { test } from "node:test";
import { checkGcPolicy, DEFAULT_IMAGE_GC_POLICY, type GcCandidate, imagesToCollect } from "./gc.ts";

const MB = 1_000_000;
const NOW = 10_000_000;
const img = (digest: string, size: number, lastUsed: number, more: Partial<GcCandidate> = {}) => ({
  digest,
  size: size * MB,
  lastUsed,
  created: 0,
  inUse: false,
  ...more,
});

test("image garbage collection follows the kubelet's high/low thresholds, least recently used first", () => {
  const images = [
    img("new", 5, NOW - 1_000),
    img("old", 5, NOW - 900_000),
    img("older", 5, NOW - 990_000),
    img("mid", 5, NOW - 500_000),
  ];
  const disk = (usedPercent: number) => ({
    capacity: 100 * MB,
    available: (100 - usedPercent) * MB,
  });
  const cases: { name: string; used: number; images?: GcCandidate[]; want: string[] }[] = [
    { name: "below the high threshold: nothing", used: 84, want: [] },
    { name: "at the high threshold: down to the low one (5 MB)", used: 85, want: ["older"] },
    {
      name: "above it: oldest first until enough is freed",
      used: 92,
      want: ["older", "old", "mid"],
    },
    {
      name: "an image in use stays",
      used: 86,
      images: [img("a", 5, 1, { inUse: true }), img("b", 5, 2)],
      want: ["b"],
    },
    {
      name: "an image newer than the minimum age stays",
      used: 86,
      images: [img("young", 5, 1, { created: NOW - 60_000 }), img("b", 5, 2)],
      want: ["b"],
    },
    {
      name: "not enough to free: every unused image goes",
      used: 99,
      want: ["older", "old", "mid", "new"],
    },
  ];
  for (const c of cases) {
    const got = imagesToCollect(c.images ?? images, disk(c.used), DEFAULT_IMAGE_GC_POLICY, NOW);
    assert.deepEqual(got.digests, c.want, c.name);
  }
});

test("a high threshold of 100 turns image garbage collection off", () => {
  const got = imagesToCollect(
    [img("a", 5, 0)],
    { capacity: 100 * MB, available: 0 },
    { ...DEFAULT_IMAGE_GC_POLICY, highThresholdPercent: 100 },
    NOW,
  );
  assert.deepEqual(got.digests, []);
});

test("a low threshold above the high one is refused as the kubelet's config check does", () => {
  assert.throws(
    () => checkGcPolicy({ highThresholdPercent: 70, lowThresholdPercent: 80, minAgeMs: 0 }),
    /imageGCLowThresholdPercent \(80\) must be less than imageGCHighThresholdPercent \(70\)/,
  );
  checkGcPolicy(DEFAULT_IMAGE_GC_POLICY);
});
