import assert from "node:assert/strict";
import { test } from "node:test";
import type { Job } from "kubernetes-types/batch/v1.js";
import { reconcileTtl, type TtlDeps, timeLeft } from "./reconcile.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

function job(ttl: number | undefined, finished?: "Complete" | "Failed"): Job {
  return {
    metadata: { name: "pi", namespace: "default", uid: "u1" },
    spec: { template: {}, ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }) },
    status: finished
      ? {
          ...(finished === "Complete" ? { completionTime: "2026-01-01T00:00:00Z" } : {}),
          conditions: [
            { type: finished, status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" },
          ],
        }
      : {},
  };
}

test("timeLeft counts the TTL from completionTime or the Failed condition", () => {
  const cases: Array<[Job, number, number | undefined]> = [
    [job(100), T0, undefined],
    [job(undefined, "Complete"), T0, undefined],
    [job(100, "Complete"), T0 + 40_000, 60_000],
    [job(0, "Failed"), T0 + 1, -1],
  ];
  for (const [j, now, want] of cases) assert.equal(timeLeft(j, now), want);
});

test("reconcileTtl waits, then deletes the Job as the API has it", async () => {
  const deleted: string[] = [];
  let now = T0;
  let fresh: Job | undefined = job(60, "Complete");
  const deps: TtlDeps = {
    getJob: () => job(60, "Complete"),
    freshJob: async () => fresh,
    deleteJob: async (j) => {
      deleted.push(j.metadata?.name ?? "");
    },
    now: () => now,
  };
  assert.deepEqual(await reconcileTtl("default/pi", deps), { requeueAfter: 60_000 });
  now = T0 + 60_000;
  fresh = job(120, "Complete");
  assert.deepEqual(
    await reconcileTtl("default/pi", deps),
    { requeueAfter: 60_000 },
    "the TTL grew meanwhile",
  );
  fresh = job(60, "Complete");
  await reconcileTtl("default/pi", deps);
  assert.deepEqual(deleted, ["pi"]);
});
