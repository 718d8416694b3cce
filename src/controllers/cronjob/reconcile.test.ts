import assert from "node:assert/strict";
import { test } from "node:test";
import type { CronJob, CronJobSpec, Job } from "kubernetes-types/batch/v1.js";
import { alreadyExists } from "../../api/errors.ts";
import { type CronJobDeps, reconcileCronJob } from "./reconcile.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const MIN = 60_000;

class World {
  now = T0;
  cj: CronJob;
  jobs = new Map<string, Job>();
  events: string[] = [];
  seq = 0;
  deps: CronJobDeps;
  constructor(spec: Partial<CronJobSpec>) {
    this.cj = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: {
        name: "hello",
        namespace: "default",
        uid: "cj-uid",
        creationTimestamp: stamp(T0),
      },
      spec: {
        schedule: "*/1 * * * *",
        concurrencyPolicy: "Allow",
        suspend: false,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
        jobTemplate: {
          metadata: { labels: { app: "hello" } },
          spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
        },
        ...spec,
      },
    };
    this.deps = {
      getCronJob: () => structuredClone(this.cj),
      listJobs: () => [...this.jobs.values()].map((j) => structuredClone(j)),
      getJob: async (_ns, name) => structuredClone(this.jobs.get(name)),
      createJob: async (_ns, job) => {
        const name = job.metadata?.name ?? "";
        if (this.jobs.has(name)) throw alreadyExists("jobs", "batch", name);
        const made: Job = {
          ...structuredClone(job),
          metadata: {
            ...job.metadata,
            uid: `job-${this.seq++}`,
            creationTimestamp: stamp(this.now),
          },
        };
        this.jobs.set(name, made);
        return made;
      },
      deleteJob: async (job) => {
        this.jobs.delete(job.metadata?.name ?? "");
      },
      writeStatus: async (cj) => {
        this.cj = { ...this.cj, status: structuredClone(cj.status ?? {}) };
        return this.cj;
      },
      event: (_cj, type, reason, message) => this.events.push(`${type} ${reason} ${message}`),
      now: () => this.now,
      localZone: "UTC",
    };
  }
  sync() {
    return reconcileCronJob("default/hello", this.deps);
  }
  finish(name: string, type: "Complete" | "Failed", started: number) {
    const job = this.jobs.get(name);
    assert.ok(job, name);
    job.status = {
      startTime: stamp(started),
      ...(type === "Complete" ? { completionTime: stamp(this.now) } : {}),
      conditions: [{ type, status: "True", lastTransitionTime: stamp(this.now) }],
    };
  }
  activeNames() {
    return (this.cj.status?.active ?? []).map((r) => r.name);
  }
}

test("a CronJob starts its Job at the scheduled minute and comes back for the next", async () => {
  const w = new World({});
  w.now = T0 + 30_000;
  assert.deepEqual(await w.sync(), { requeueAfter: 30_100 });
  assert.equal(w.jobs.size, 0);
  w.now = T0 + MIN + 100;
  assert.deepEqual(await w.sync(), { requeueAfter: 60_000 });
  const name = `hello-${(T0 + MIN) / MIN}`;
  const job = w.jobs.get(name);
  assert.ok(job, `job ${name}`);
  assert.deepEqual(job.metadata?.labels, { app: "hello" });
  assert.equal(
    job.metadata?.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2026-01-01T00:01:00Z",
  );
  assert.deepEqual(job.metadata?.ownerReferences, [
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      name: "hello",
      uid: "cj-uid",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(w.activeNames(), [name]);
  assert.equal(w.cj.status?.lastScheduleTime, "2026-01-01T00:01:00Z");
  assert.deepEqual(w.events, [`Normal SuccessfulCreate Created job ${name}`]);
  // The same minute again starts nothing.
  await w.sync();
  assert.equal(w.jobs.size, 1);
  // Its end is noticed, and the time it succeeded.
  w.now = T0 + MIN + 5_000;
  w.finish(name, "Complete", T0 + MIN);
  await w.sync();
  assert.deepEqual(w.activeNames(), []);
  assert.ok(
    w.events.includes(`Normal SawCompletedJob Saw completed job: ${name}, condition: Complete`),
  );
  await w.sync();
  assert.equal(w.cj.status?.lastSuccessfulTime, stamp(w.now));
});

test("concurrency policies: Forbid skips, Replace replaces, Allow runs side by side", async () => {
  for (const [policy, want] of [
    ["Forbid", 1],
    ["Replace", 1],
    ["Allow", 2],
  ] as const) {
    const w = new World({ concurrencyPolicy: policy });
    w.now = T0 + MIN;
    await w.sync();
    w.now = T0 + 2 * MIN;
    await w.sync();
    assert.equal(w.jobs.size, want, policy);
    assert.equal(w.activeNames().length, want, policy);
    if (policy === "Forbid")
      assert.ok(
        w.events.includes(
          "Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid",
        ),
      );
    if (policy === "Replace") {
      assert.deepEqual(w.activeNames(), [`hello-${(T0 + 2 * MIN) / MIN}`]);
      assert.ok(w.events.includes(`Normal SuccessfulDelete Deleted job hello-${(T0 + MIN) / MIN}`));
    }
  }
});

test("finished Jobs beyond the history limits are deleted, oldest first", async () => {
  const w = new World({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 });
  for (let m = 1; m <= 5; m++) {
    w.now = T0 + m * MIN;
    await w.sync();
    w.now += 1000;
    w.finish(
      `hello-${(T0 + m * MIN) / MIN}`,
      m === 2 || m === 3 ? "Failed" : "Complete",
      T0 + m * MIN,
    );
  }
  await w.sync();
  assert.deepEqual(
    [...w.jobs.keys()].map((n) => Number(n.split("-")[1]) - T0 / MIN).sort(),
    [3, 4, 5],
    "two successes and one failure are kept",
  );
});

test("missed schedules: only the most recent runs, with a warning past 100", async () => {
  const w = new World({});
  w.now = T0 + 150 * MIN + 10_000;
  await w.sync();
  assert.deepEqual([...w.jobs.keys()], [`hello-${T0 / MIN + 150}`]);
  assert.ok(
    w.events.includes(
      "Warning TooManyMissedTimes too many missed start times: 150. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
    ),
  );
  const late = new World({ startingDeadlineSeconds: 5 });
  late.now = T0 + MIN + 30_000;
  const r = await late.sync();
  assert.equal(late.jobs.size, 0, "past its starting deadline");
  assert.deepEqual(r, { requeueAfter: 30_100 });
});

test("suspend, a manual Job, a bad time zone and a time zone", async () => {
  const s = new World({ suspend: true });
  s.now = T0 + 5 * MIN;
  assert.equal(await s.sync(), undefined);
  assert.equal(s.jobs.size, 0);

  const m = new World({});
  m.jobs.set("manual", {
    metadata: {
      name: "manual",
      uid: "manual-uid",
      annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: "cj-uid", controller: true },
      ],
    },
  });
  m.now = T0 + 10_000;
  await m.sync();
  assert.deepEqual(m.events, [
    "Warning UnexpectedJob Saw a job that the controller did not create or forgot: manual",
  ]);

  const bad = new World({ timeZone: "Mars/Olympus" });
  bad.now = T0 + 5 * MIN;
  await bad.sync();
  assert.deepEqual(bad.events, [
    'Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus',
  ]);

  const tokyo = new World({ schedule: "0 9 * * *", timeZone: "Asia/Tokyo" });
  tokyo.now = Date.parse("2026-01-02T00:00:30Z");
  await tokyo.sync();
  const [job] = tokyo.jobs.values();
  assert.equal(
    job?.metadata?.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2026-01-02T09:00:00+09:00",
  );
});
