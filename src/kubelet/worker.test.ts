import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, PodStatus } from "kubernetes-types/core/v1.js";
import { waitFor } from "../_testing/index.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { EventRecorder } from "../client/index.ts";
import { type Runtime, runtimeFor } from "./runtimes/index.ts";
import { PodWorker } from "./worker.ts";

/**
 * A worker of the simulated runtime against a recording client: what it writes (statuses) and
 * emits (events), with a fast back-off. Simulated containers of a Job's pod exit 0 at once; the
 * others run until killed.
 */
function simulatedWorker(pod: Pod, options: Recording = {}) {
  const statuses: PodStatus[] = [];
  const events: string[] = [];
  const client = {
    patch: async (
      _r: unknown,
      _ns: string,
      _n: string,
      _t: string,
      body: { status: PodStatus },
    ) => {
      statuses.push(body.status);
      return { ...pod, status: body.status };
    },
  } as unknown as ApiVerbs;
  const recorder: EventRecorder = {
    event: (_o, type, reason, _m, o) => events.push(`${type} ${reason} ${o?.fieldPath ?? ""}`),
    flush: async () => {},
  };
  const errors: unknown[] = [];
  const worker = new PodWorker(pod, {
    client,
    recorder,
    runtime: recording(runtimeFor("simulated", { workingDir: "/", simulatedDelayMs: 0 }), options),
    podIP: "127.244.0.9",
    hostIP: "127.0.0.1",
    podDirOf: () => "/nonexistent",
    envSources: () => ({}) as never,
    volumeSources: () => ({}) as never,
    backoff: { initialMs: 40, maxMs: 80, resetMs: 10_000 },
    now: () => new Date(),
    onError: (e) => errors.push(e),
    warn: (m) => errors.push(m),
    openLog: () => Promise.reject(new Error("simulated pods write no logs")),
    workingDir: "/",
  });
  const last = () => statuses.at(-1);
  return { worker, statuses, events, errors, last };
}

interface Recording {
  /** Where each signal sent to a container is written ("name SIGTERM"). */
  signals?: string[];
  /** Containers whose runs end at once with exit code 0. */
  complete?: string[];
}

/** The runtime, with the signals recorded and some containers completing at once. */
function recording(runtime: Runtime, options: Recording): Runtime {
  const { signals, complete = [] } = options;
  if (!signals && complete.length === 0) return runtime;
  return {
    ...runtime,
    start: async (s) => {
      const handle = await runtime.start(s);
      if (!handle) return handle;
      const name = s.container.name;
      return {
        ...handle,
        ...(complete.includes(name) ? { exited: Promise.resolve({ exitCode: 0 }) } : {}),
        kill(signal) {
          signals?.push(`${name} ${signal}`);
          handle.kill(signal);
        },
      };
    },
  };
}

const jobPod = (restartPolicy: string, more: Partial<Pod["spec"]> = {}): Pod => ({
  metadata: {
    name: "p",
    namespace: "default",
    uid: "u1",
    ownerReferences: [
      { apiVersion: "batch/v1", kind: "Job", name: "j", uid: "j1", controller: true },
    ],
  },
  spec: { restartPolicy, containers: [{ name: "app" }], ...more },
});

test("a simulated Job pod's completed container: Succeeded under Never and OnFailure, back-off under Always", async (t) => {
  for (const policy of ["Never", "OnFailure"]) {
    const w = simulatedWorker(jobPod(policy));
    w.worker.start();
    await waitFor(() => (w.last()?.phase === "Succeeded" ? true : undefined), {
      what: `${policy}: Succeeded`,
    });
    const app = w.last()?.containerStatuses?.[0];
    assert.equal(app?.state?.terminated?.exitCode, 0, policy);
    assert.equal(app?.restartCount, 0, policy);
    await w.worker.terminate({ maxGraceMs: 0 });
    assert.deepEqual(w.errors, []);
  }
  const w = simulatedWorker(jobPod("Always"));
  w.worker.start();
  t.after(() => w.worker.terminate({ maxGraceMs: 0 }));
  // First restart at once, then 40 ms, then 80 ms: CrashLoopBackOff with kube's message.
  await waitFor(
    () =>
      w.statuses.some(
        (s) => s.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff",
      )
        ? true
        : undefined,
    { what: "CrashLoopBackOff" },
  );
  const waiting = w.statuses
    .map((s) => s.containerStatuses?.[0]?.state?.waiting)
    .find((s) => s?.reason === "CrashLoopBackOff");
  assert.equal(waiting?.message, "back-off 40ms restarting failed container=app pod=p_default(u1)");
  assert.ok(w.events.includes("Warning BackOff spec.containers{app}"));
  await waitFor(
    () => ((w.last()?.containerStatuses?.[0]?.restartCount ?? 0) >= 3 ? true : undefined),
    {
      what: "three restarts",
    },
  );
});

test("a simulated pod's init container completes, then the app container runs, started and ready", async (t) => {
  const pod: Pod = {
    metadata: { name: "p", namespace: "default", uid: "u2" },
    spec: {
      initContainers: [{ name: "init" }, { name: "side", restartPolicy: "Always" }],
      containers: [{ name: "app", readinessProbe: { exec: { command: ["false"] } } }],
    },
  };
  const w = simulatedWorker(pod);
  w.worker.start();
  t.after(() => w.worker.terminate({ maxGraceMs: 0 }));
  await waitFor(() => (w.last()?.phase === "Running" ? true : undefined), { what: "Running" });
  await waitFor(
    () =>
      w.last()?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? true : undefined,
    { what: "Ready" },
  );
  // Before it is created, a container of a pod with init containers waits in PodInitializing
  // (kubectl shows Init:0/2, then PodInitializing), as the kubelet's default status says.
  const waiting = w.statuses.flatMap((s) =>
    [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])].flatMap(
      (c) => c.state?.waiting?.reason ?? [],
    ),
  );
  assert.ok(waiting.includes("PodInitializing"), "the app waited in PodInitializing");
  assert.ok(!waiting.includes("ContainerCreating"), waiting.join());
  const s = w.last();
  assert.equal(s?.initContainerStatuses?.[0]?.state?.terminated?.reason, "Completed");
  assert.ok(s?.initContainerStatuses?.[1]?.state?.running, "the sidecar runs");
  assert.equal(s?.initContainerStatuses?.[1]?.ready, true);
  // Simulated: no probe runs, a started container is at once started and ready.
  assert.equal(s?.containerStatuses?.[0]?.ready, true);
  assert.equal(s?.containerStatuses?.[0]?.started, true);
});

test("terminating a simulated pod stops every container and writes the terminal phase", async () => {
  const pod: Pod = {
    metadata: { name: "p", namespace: "default", uid: "u3" },
    spec: { restartPolicy: "Always", containers: [{ name: "a" }, { name: "b" }] },
  };
  const w = simulatedWorker(pod);
  w.worker.start();
  await waitFor(() => (w.last()?.phase === "Running" ? true : undefined), { what: "Running" });
  w.worker.deleting = true;
  await w.worker.terminate();
  const s = w.last();
  assert.equal(s?.phase, "Failed");
  assert.deepEqual(
    s?.containerStatuses?.map((c) => c.state?.terminated?.exitCode),
    [143, 143],
  );
  assert.deepEqual(
    w.events.filter((e) => e.includes("Killing")),
    ["Normal Killing spec.containers{a}", "Normal Killing spec.containers{b}"],
  );
});

test("terminating a pod stops its sidecars after the app containers, in reverse order", async () => {
  const pod: Pod = {
    metadata: { name: "p", namespace: "default", uid: "u4" },
    spec: {
      initContainers: [
        { name: "s1", restartPolicy: "Always" },
        { name: "setup" },
        { name: "s2", restartPolicy: "Always" },
      ],
      containers: [{ name: "app" }],
    },
  };
  const signals: string[] = [];
  const w = simulatedWorker(pod, { signals });
  w.worker.start();
  await waitFor(() => (w.last()?.phase === "Running" ? true : undefined), { what: "Running" });
  w.worker.deleting = true;
  await w.worker.terminate();
  assert.deepEqual(signals, ["app SIGTERM", "s2 SIGTERM", "s1 SIGTERM"]);
  assert.equal(w.last()?.phase, "Failed");
});

test("a completed pod's sidecars stop in reverse order", async () => {
  const pod: Pod = {
    metadata: { name: "p", namespace: "default", uid: "u5" },
    spec: {
      restartPolicy: "Never",
      initContainers: [
        { name: "s1", restartPolicy: "Always" },
        { name: "s2", restartPolicy: "Always" },
      ],
      containers: [{ name: "app" }],
    },
  };
  const signals: string[] = [];
  const w = simulatedWorker(pod, { signals, complete: ["app"] });
  w.worker.start();
  await waitFor(() => (w.last()?.phase === "Succeeded" ? true : undefined), {
    what: "Succeeded",
  });
  assert.deepEqual(signals, ["s2 SIGTERM", "s1 SIGTERM"]);
  await w.worker.terminate({ maxGraceMs: 0 });
});

test("a pod past its activeDeadlineSeconds fails with DeadlineExceeded and its running containers stop", async () => {
  // startTime is in whole seconds: the deadline comes 1 to 2 s from now, after the app started.
  const pod: Pod = {
    metadata: { name: "p", namespace: "default", uid: "u6" },
    spec: { activeDeadlineSeconds: 2, containers: [{ name: "app" }] },
    status: { startTime: `${new Date().toISOString().slice(0, 19)}Z` },
  };
  const signals: string[] = [];
  const w = simulatedWorker(pod, { signals });
  w.worker.start();
  await waitFor(() => (w.last()?.phase === "Running" ? true : undefined), { what: "Running" });
  await waitFor(() => (w.last()?.phase === "Failed" ? true : undefined), { what: "Failed" });
  await waitFor(() => (w.last()?.containerStatuses?.[0]?.state?.terminated ? true : undefined), {
    what: "the app stopped",
  });
  const s = w.last();
  assert.equal(s?.reason, "DeadlineExceeded");
  assert.equal(s?.message, "Pod was active on the node longer than the specified deadline");
  assert.ok(w.events.includes("Normal DeadlineExceeded "), w.events.join());
  assert.deepEqual(signals, ["app SIGTERM"], "stopped once, not restarted");
  await w.worker.terminate({ maxGraceMs: 0 });
  assert.deepEqual(w.errors, []);
});
