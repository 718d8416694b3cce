import assert from "node:assert/strict";
import { test } from "node:test";
import type { Job, JobSpec } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { type KindStrategy, strategyFor } from "../../api/kinds/index.ts";
import { asKube, typed } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";
import { Expectations } from "../_expectations.ts";
import type { BackoffRecord } from "./_backoff.ts";
import { FinalizerExpectations } from "./_finalizers.ts";
import { INDEX_ANNOTATION, TRACKING_FINALIZER } from "./_pods.ts";
import { type JobDeps, reconcileJob } from "./reconcile.ts";

const jobStrategy = strategyFor("batch", "jobs") as KindStrategy;
const START = Date.parse("2026-01-01T00:00:00Z");
const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** An in-memory cluster for one Job: the API as the controller sees it, and a clock. */
class World {
  now = START;
  job: Job;
  pods = new Map<string, Pod>();
  events: string[] = [];
  statusWrites = 0;
  seq = 0;
  deps: JobDeps;

  constructor(spec: Partial<JobSpec>, podSpec: Record<string, unknown> = {}) {
    const obj = asKube({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "pi",
        namespace: "default",
        uid: "job-uid",
        creationTimestamp: stamp(START),
        generation: 1,
      },
      spec: {
        ...spec,
        template: {
          spec: {
            containers: [{ name: "main", image: "busybox" }],
            restartPolicy: "Never",
            ...podSpec,
          },
        },
      },
    });
    jobStrategy.applyDefaults(obj);
    jobStrategy.prepareForCreate?.(obj);
    assert.deepEqual(jobStrategy.validate(obj), []);
    this.job = typed<Job>(obj);
    const expectations = new Expectations(() => this.now);
    this.deps = {
      getJob: () => structuredClone(this.job),
      listPods: () => [...this.pods.values()].map((p) => structuredClone(p)),
      adoptPod: async (_job, pod) => pod,
      createPod: async (_ns, pod) => {
        const n = this.seq++;
        const made: Pod = structuredClone(pod);
        made.metadata = {
          ...made.metadata,
          name: `${pod.metadata?.generateName ?? ""}${n}`,
          uid: `pod-${n}`,
          creationTimestamp: stamp(this.now),
        };
        (made as { status: unknown }).status = { phase: "Pending" };
        this.pods.set(made.metadata.uid as string, made);
        expectations.creationObserved("default/pi");
        return made;
      },
      deletePod: async (pod) => {
        const p = this.pods.get(pod.metadata?.uid ?? "");
        if (!p?.metadata) return;
        if (p.metadata.finalizers?.length)
          (p.metadata as { deletionTimestamp?: string }).deletionTimestamp = stamp(this.now);
        else this.pods.delete(p.metadata.uid ?? "");
        expectations.deletionObserved("default/pi", `default/${p.metadata.name}`);
      },
      removeFinalizer: async (pod) => {
        const p = this.pods.get(pod.metadata?.uid ?? "");
        if (!p?.metadata) return;
        p.metadata.finalizers = (p.metadata.finalizers ?? []).filter(
          (f) => f !== TRACKING_FINALIZER,
        );
        this.deps.finalizers.observed("default/pi", p.metadata.uid ?? "");
      },
      writeStatus: async (job) => {
        this.statusWrites++;
        this.job = { ...this.job, status: structuredClone(job.status ?? {}) };
        return structuredClone(this.job);
      },
      event: (_job, type, reason, message) => this.events.push(`${type} ${reason} ${message}`),
      expectations,
      finalizers: new FinalizerExpectations(),
      backoff: new Map<string, BackoffRecord>(),
      now: () => this.now,
    };
  }

  sync(): Promise<ReconcileResult> {
    return reconcileJob("default/pi", this.deps);
  }

  active(): Pod[] {
    return [...this.pods.values()].filter(
      (p) =>
        !p.metadata?.deletionTimestamp && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
    );
  }

  /** Runs the active pods to an end: exit 0 (Succeeded) or another code (Failed). */
  finish(exitCode: number, which: Pod[] = this.active()): void {
    this.now += 1000;
    for (const p of which) {
      (p as { status: unknown }).status = {
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: [
          {
            name: "main",
            image: "busybox",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode, finishedAt: stamp(this.now) } },
          },
        ],
      };
    }
  }

  /** The kubelet's side of a graceful deletion: the pod goes once its finalizers are gone. */
  reap(): void {
    for (const [uid, p] of this.pods)
      if (p.metadata?.deletionTimestamp && !p.metadata.finalizers?.length) this.pods.delete(uid);
  }

  conditions(): string[] {
    return (this.job.status?.conditions ?? []).map((c) =>
      [c.type, c.status, c.reason, c.message].filter(Boolean).join(" "),
    );
  }
}

test("a Job of 5 completions, parallelism 2 runs 2 pods at a time and completes", async () => {
  const w = new World({ completions: 5, parallelism: 2 });
  await w.sync();
  assert.equal(w.active().length, 2);
  assert.equal(w.job.status?.active, 2);
  assert.equal(w.job.status?.startTime, stamp(START));
  const first = w.active()[0] as Pod;
  assert.deepEqual(first.metadata?.finalizers, [TRACKING_FINALIZER]);
  assert.equal(first.metadata?.generateName, "pi-");
  assert.equal(first.metadata?.labels?.["batch.kubernetes.io/job-name"], "pi");
  assert.deepEqual(first.metadata?.ownerReferences?.[0], {
    apiVersion: "batch/v1",
    kind: "Job",
    name: "pi",
    uid: "job-uid",
    controller: true,
    blockOwnerDeletion: true,
  });
  for (let round = 0; round < 5 && w.active().length > 0; round++) {
    w.finish(0);
    await w.sync();
  }
  assert.equal(w.job.status?.succeeded, 5);
  assert.equal(w.job.status?.active, undefined);
  assert.deepEqual(w.conditions(), [
    "SuccessCriteriaMet True CompletionsReached Reached expected number of succeeded pods",
    "Complete True CompletionsReached Reached expected number of succeeded pods",
  ]);
  assert.equal(w.job.status?.completionTime, stamp(w.now));
  assert.deepEqual(w.job.status?.uncountedTerminatedPods, {});
  assert.equal(w.pods.size, 5);
  for (const p of w.pods.values()) assert.deepEqual(p.metadata?.finalizers, []);
  assert.equal(
    w.events.filter((e) => e.startsWith("Normal SuccessfulCreate Created pod: pi-")).length,
    5,
  );
  assert.equal(w.events.at(-1), "Normal Completed Job completed");
  // A finished Job is left alone.
  const writes = w.statusWrites;
  await w.sync();
  assert.equal(w.statusWrites, writes);
});

test("failed pods are replaced with kube's back-off and the Job fails past backoffLimit", async () => {
  const w = new World({ backoffLimit: 2 });
  await w.sync();
  const waits: Array<number | undefined> = [];
  for (let i = 0; i < 3; i++) {
    w.finish(1);
    const r = await w.sync();
    waits.push(r ? r.requeueAfter : undefined);
    if (w.active().length === 0 && r && r.requeueAfter) {
      w.now += r.requeueAfter;
      await w.sync();
    }
  }
  // 10 s after the first failure, 20 s after the second (less the second that passed).
  assert.deepEqual(waits.slice(0, 2), [10_000, 20_000]);
  assert.equal(w.job.status?.failed, 3);
  assert.deepEqual(w.conditions(), [
    "FailureTarget True BackoffLimitExceeded Job has reached the specified backoff limit",
    "Failed True BackoffLimitExceeded Job has reached the specified backoff limit",
  ]);
  assert.equal(
    w.events.at(-1),
    "Warning BackoffLimitExceeded Job has reached the specified backoff limit",
  );
  assert.equal(w.job.status?.completionTime, undefined);
});

test("activeDeadlineSeconds fails the Job and deletes its running pods; Failed waits for them", async () => {
  const w = new World({ parallelism: 2, completions: 4, activeDeadlineSeconds: 30 });
  const r = await w.sync();
  assert.deepEqual(r, { requeueAfter: 30_000 });
  w.now += 30_000;
  await w.sync();
  assert.deepEqual(w.conditions(), [
    "FailureTarget True DeadlineExceeded Job was active longer than specified deadline",
  ]);
  assert.equal(w.active().length, 0);
  assert.equal(w.job.status?.terminating, 2);
  w.reap();
  await w.sync();
  assert.deepEqual(w.conditions(), [
    "FailureTarget True DeadlineExceeded Job was active longer than specified deadline",
    "Failed True DeadlineExceeded Job was active longer than specified deadline",
  ]);
  assert.equal(w.job.status?.failed, 2);
});

test("suspending deletes the active pods; resuming restarts them and the deadline clock", async () => {
  const w = new World({ parallelism: 2, completions: 2 });
  await w.sync();
  w.job.spec = { ...(w.job.spec as JobSpec), suspend: true };
  await w.sync();
  assert.equal(w.active().length, 0);
  assert.deepEqual(w.conditions(), ["Suspended True JobSuspended Job suspended"]);
  w.reap();
  w.now += 60_000;
  w.job.spec = { ...(w.job.spec as JobSpec), suspend: false };
  await w.sync();
  assert.equal(w.active().length, 2);
  assert.deepEqual(w.conditions(), ["Suspended False JobResumed Job resumed"]);
  assert.equal(w.job.status?.startTime, stamp(w.now));
  assert.ok(w.events.includes("Normal Suspended Job suspended"));
  assert.ok(w.events.includes("Normal Resumed Job resumed"));
});

test("an Indexed Job gives each pod its index, hostname and JOB_COMPLETION_INDEX", async () => {
  const w = new World(
    { completionMode: "Indexed", completions: 3, parallelism: 3 },
    { subdomain: "workers" },
  );
  await w.sync();
  const pods = w
    .active()
    .sort((a, b) => (a.spec?.hostname ?? "").localeCompare(b.spec?.hostname ?? ""));
  assert.deepEqual(
    pods.map((p) => [
      p.metadata?.generateName,
      p.metadata?.annotations?.[INDEX_ANNOTATION],
      p.metadata?.labels?.[INDEX_ANNOTATION],
      p.spec?.hostname,
      p.spec?.subdomain,
    ]),
    [
      ["pi-0-", "0", "0", "pi-0", "workers"],
      ["pi-1-", "1", "1", "pi-1", "workers"],
      ["pi-2-", "2", "2", "pi-2", "workers"],
    ],
  );
  assert.deepEqual(pods[0]?.spec?.containers[0]?.env, [
    {
      name: "JOB_COMPLETION_INDEX",
      valueFrom: {
        fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" },
      },
    },
  ]);
  w.finish(0, [pods[0] as Pod, pods[2] as Pod]);
  await w.sync();
  assert.equal(w.job.status?.completedIndexes, "0,2");
  w.finish(1, [pods[1] as Pod]);
  const r = await w.sync();
  assert.ok(r?.requeueAfter);
  w.now += r.requeueAfter;
  await w.sync();
  assert.deepEqual(
    w.active().map((p) => p.spec?.hostname),
    ["pi-1"],
  );
  w.finish(0);
  await w.sync();
  assert.equal(w.job.status?.completedIndexes, "0-2");
  assert.equal(w.job.status?.succeeded, 3);
  assert.equal(w.job.status?.failed, 1);
  assert.ok(
    w
      .conditions()
      .includes("Complete True CompletionsReached Reached expected number of succeeded pods"),
  );
});

test("a pod failure policy fails the Job on a FailJob exit code and ignores Ignore matches", async () => {
  const policy = {
    rules: [
      { action: "FailJob", onExitCodes: { containerName: "main", operator: "In", values: [42] } },
      { action: "Ignore", onExitCodes: { operator: "In", values: [3] } },
    ],
  };
  const w = new World({ backoffLimit: 0, podFailurePolicy: policy });
  await w.sync();
  w.finish(3);
  const r = await w.sync();
  assert.equal(w.job.status?.failed, undefined, "an ignored failure is not counted");
  assert.deepEqual(r, { requeueAfter: 10_000 }, "but its replacement waits out the back-off");
  w.now += 10_000;
  await w.sync();
  assert.equal(w.active().length, 1);
  const [pod] = w.active();
  w.finish(42);
  await w.sync();
  assert.deepEqual(w.conditions(), [
    `FailureTarget True PodFailurePolicy Container main for pod default/${pod?.metadata?.name} failed with exit code 42 matching FailJob rule at index 0`,
    `Failed True PodFailurePolicy Container main for pod default/${pod?.metadata?.name} failed with exit code 42 matching FailJob rule at index 0`,
  ]);
});

test("backoffLimitPerIndex fails an index, not the Job, until every index is done", async () => {
  const w = new World({
    completionMode: "Indexed",
    completions: 2,
    parallelism: 2,
    backoffLimitPerIndex: 0,
  });
  await w.sync();
  const [zero, one] = w
    .active()
    .sort((a, b) => (a.spec?.hostname ?? "").localeCompare(b.spec?.hostname ?? ""));
  assert.equal(zero?.metadata?.annotations?.["batch.kubernetes.io/job-index-failure-count"], "0");
  w.finish(1, [zero as Pod]);
  await w.sync();
  assert.equal(w.job.status?.failedIndexes, "0");
  assert.deepEqual(w.conditions(), []);
  w.finish(0, [one as Pod]);
  await w.sync();
  assert.deepEqual(w.conditions(), [
    "FailureTarget True FailedIndexes Job has failed indexes",
    "Failed True FailedIndexes Job has failed indexes",
  ]);
  assert.equal(w.job.status?.completedIndexes, "1");
});

test("a Job without completions stops creating pods at the first success and completes when all end", async () => {
  const w = new World({ parallelism: 3 });
  await w.sync();
  assert.equal(w.active().length, 3);
  const [a] = w.active();
  w.finish(0, [a as Pod]);
  await w.sync();
  assert.equal(w.active().length, 2);
  assert.deepEqual(w.conditions(), []);
  w.finish(0);
  await w.sync();
  assert.equal(w.job.status?.succeeded, 3);
  assert.ok(
    w
      .conditions()
      .includes("Complete True CompletionsReached Reached expected number of succeeded pods"),
  );
});
