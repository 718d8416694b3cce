/**
 * batch/v1 CronJobs end to end on a whole cluster whose schedules run on a manual clock
 * (`scheduleClock`): each `advance` of a minute is a minute of schedule, so the test never waits
 * for one. The Jobs and their pods (host `sh` processes) run in real time. The real kubectl
 * applies the CronJob, lists it with kube's columns and runs `create job --from=cronjob/x`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { CronJob, Job } from "kubernetes-types/batch/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed } from "../src/api/types.ts";
import { FakeClock } from "../src/client/testing.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const MINUTE = 60_000;

describe("CronJobs", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  // Starts a little behind real time, so that the CronJob (created in real time) is never older
  // than the schedule's "now"; the test then moves it from activation to activation.
  const clock = new FakeClock(Date.now() - 1000);
  const kubectl = (args: string[], input?: string) =>
    run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "--cache-dir", join(c.dataDir, "kube-cache"), ...args],
      { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 },
    );
  const cronJob = async () => typed<CronJob>(await c.client.get(REFS.cronjobs, "default", "tick"));
  const jobs = async () =>
    (await c.client.list(REFS.jobs, "default")).items
      .map((j) => typed<Job>(j))
      .filter((j) => j.metadata?.ownerReferences?.some((r) => r.kind === "CronJob"));
  const complete = (j: Job) =>
    j.status?.conditions?.some((x) => x.type === "Complete" && x.status === "True") === true;

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      scheduleClock: clock,
    });
  });
  after(async () => {
    await c?.stop();
  });

  test("a CronJob runs on schedule and keeps its history limits", async () => {
    const manifest = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: tick
            image: busybox
            command: ["sh", "-c", "echo tick"]
`;
    const applied = await kubectl(["apply", "-f", "-"], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    const created = await cronJob();
    // Nothing runs before the first activation. Proof that the controller has looked: the next
    // activation is set on the schedule clock.
    await waitFor(() => clock.pending() > 0, { what: "the CronJob's next activation to be set" });
    assert.equal((await jobs()).length, 0);

    const names: string[] = [];
    const createdAt = Date.parse(created.metadata?.creationTimestamp ?? "");
    for (let i = 1; i <= 4; i++) {
      // The next whole minute after both the creation and the schedule's now.
      const scheduled = (Math.floor(Math.max(clock.now(), createdAt) / MINUTE) + 1) * MINUTE;
      await clock.advance(scheduled + 100 - clock.now());
      const name = `tick-${scheduled / MINUTE}`;
      names.push(name);
      await waitFor(
        async () =>
          (await jobs()).some((j) => j.metadata?.name === name && complete(j)) ? true : undefined,
        { what: `job ${name} to complete`, timeoutMs: 60_000 },
      );
      const cj = await waitFor(
        async () => {
          const now = await cronJob();
          return now.status?.lastScheduleTime ===
            `${new Date(scheduled).toISOString().slice(0, 19)}Z` &&
            (now.status.active ?? []).length === 0 &&
            now.status.lastSuccessfulTime
            ? now
            : undefined;
        },
        { what: `the CronJob's status after ${name}`, timeoutMs: 60_000 },
      );
      assert.equal(cj.metadata?.uid, created.metadata?.uid);
    }
    // Two successful Jobs are kept: the last two.
    const kept = await waitFor(
      async () => {
        const left = (await jobs()).map((j) => j.metadata?.name ?? "").sort();
        return left.length === 2 ? left : undefined;
      },
      { what: "the history limit", timeoutMs: 60_000 },
    );
    assert.deepEqual(kept, names.slice(2).sort());
    const job = (await jobs()).find((j) => j.metadata?.name === names[3]);
    assert.equal(
      job?.metadata?.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
      `${new Date(Number(names[3]?.split("-")[1]) * MINUTE).toISOString().slice(0, 19)}Z`,
    );

    const got = await kubectl(["get", "cronjobs"]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(
      got.stdout,
      /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n/,
    );
    assert.match(got.stdout, /\ntick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+\S+\s+\S+\n/);
  });

  test("kubectl create job --from=cronjob/x runs the template now", async () => {
    const r = await kubectl(["create", "job", "--from=cronjob/tick", "tick-manual"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "job.batch/tick-manual created");
    const done = await waitFor(
      async () => {
        const j = typed<Job>(await c.client.get(REFS.jobs, "default", "tick-manual"));
        return complete(j) ? j : undefined;
      },
      { what: "the manual job", timeoutMs: 60_000 },
    );
    assert.equal(done.metadata?.annotations?.["cronjob.kubernetes.io/instantiate"], "manual");
    assert.equal(done.metadata?.ownerReferences?.[0]?.name, "tick");
    const logs = await kubectl(["logs", "job/tick-manual"]);
    assert.equal(logs.stdout, "tick\n");
  });
});
