/**
 * Stopping while pods are still terminating (process runtime: real processes, SIGTERM and a grace
 * period). `cluster.stop()` right after a Deployment is scaled down ends and leaves no pod process
 * behind, also when the pods ignore SIGTERM; the node agent's stop cuts a deleted pod's longer
 * grace period to its own shutdown grace (as the kubelet's graceful node shutdown does) and still
 * finishes that pod's deletion. Every wait is bounded by `waitFor`; no fixed sleeps.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Container, Pod, PodSpec } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { isStatusError } from "../src/api/errors.ts";
import { REFS } from "../src/api/refs.ts";
import { startCluster } from "../src/index.ts";
import { startKubelet } from "../src/kubelet/index.ts";
import { startTestControlPlane } from "./_controlplane.ts";
import { HTTP_SERVER, leaseTestPlan, NODE } from "./_kubelet.ts";
import { descendants } from "./_proc.ts";

/** Ignores SIGTERM, then serves on $POD_IP:8080: once it answers, its handler is in place. */
const STUBBORN =
  "process.on('SIGTERM', () => {}); require('node:http').createServer((q, s) => s.end('ok')).listen(8080, process.env.POD_IP);";

const podIPEnv = [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }];
const readiness = { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 1 };
const web: Container = {
  name: "web",
  image: "node",
  command: [NODE, HTTP_SERVER],
  env: podIPEnv,
  readinessProbe: readiness,
};
const stubborn: Container = {
  name: "stubborn",
  image: "node",
  command: [NODE, "-e", STUBBORN],
  env: podIPEnv,
  readinessProbe: { ...readiness, httpGet: { path: "/", port: 8080 } },
};

const isReady = (p: Pod) =>
  (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Live processes below this test whose command line holds `marker` (a pod's program). */
function podProcesses(marker: string): number[] {
  return descendants(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) && alive(pid);
    } catch {
      return false;
    }
  });
}

/** Whether the process exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Resolves with `promise`'s value, failing the test if it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let done: { value: T } | { error: unknown } | undefined;
  promise.then(
    (value) => {
      done = { value };
    },
    (error: unknown) => {
      done = { error };
    },
  );
  const end = await waitFor(() => done, { what, timeoutMs: ms, intervalMs: 50 });
  if ("error" in end) throw end.error;
  return end.value;
}

for (const { title, spec, marker } of [
  {
    title: "cluster.stop() right after a scale-down ends and leaves no pod process",
    spec: { containers: [web] } satisfies PodSpec,
    marker: HTTP_SERVER,
  },
  {
    title:
      "cluster.stop() right after a scale-down of pods that ignore SIGTERM (grace 30 s) ends and leaves no pod process",
    spec: { terminationGracePeriodSeconds: 30, containers: [stubborn] } satisfies PodSpec,
    marker: STUBBORN,
  },
]) {
  test(title, async () => {
    const c = await startCluster({
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      runtime: "process",
    });
    let stopping: Promise<void> | undefined;
    try {
      const name = "stop";
      await c.client.create(REFS.deployments, "default", {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: "default" },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec },
        },
      });
      const pods = async () =>
        (await c.client.list(REFS.pods, "default", { labelSelector: `app=${name}` }))
          .items as Pod[];
      await waitFor(async () => (await pods()).filter(isReady).length === 3, {
        what: "3 ready pods",
        timeoutMs: 60_000,
      });
      const pids = podProcesses(marker);
      assert.ok(pids.length >= 3, `the pods' processes: ${pids}`);
      await c.client.patch(REFS.deployments, "default", name, "merge", {
        spec: { replicas: 1 },
      });
      // The removed pods are terminating (SIGTERM sent, grace running) when the stop begins.
      await waitFor(
        async () => (await pods()).filter((p) => p.metadata?.deletionTimestamp).length === 2,
        { what: "2 pods terminating" },
      );
      stopping = c.stop();
      // Bounded: the pods' grace period (30 s at most) plus the cluster's own stop.
      await within(stopping, 90_000, "cluster.stop() to return");
      assert.deepEqual(pids.filter(alive), [], "no pod process is left after stop");
      assert.deepEqual(podProcesses(marker), [], "no pod process is left after stop");
    } finally {
      if (!stopping) await c.stop();
    }
  });
}

test("the agent's stop cuts a deleted pod's longer grace period to its shutdown grace and finishes the deletion", async () => {
  const ranges = await leaseTestPlan("stop-test");
  const cp = await startTestControlPlane();
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-stop-"));
  const kubelet = await startKubelet({
    runtime: "process",
    client: cp.client,
    informers: cp.informers,
    nodeName: "stop-node",
    dataDir,
    podCidr: ranges.plan.podCidr,
    nodeIP: ranges.plan.nodeIP,
    clusterDns: ranges.plan.dnsServiceIP,
    shutdownGraceMs: 1000,
  });
  let stopping: Promise<void> | undefined;
  try {
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "slow", namespace: "default" },
      spec: { nodeName: "stop-node", terminationGracePeriodSeconds: 300, containers: [stubborn] },
    });
    await waitFor(async () => isReady((await cp.client.get(REFS.pods, "default", "slow")) as Pod), {
      what: "slow ready",
      timeoutMs: 60_000,
    });
    const pids = kubelet.pids("default", "slow");
    assert.equal(pids.length, 1);
    await cp.client.delete(REFS.pods, "default", "slow");
    await waitFor(
      async () =>
        ((await cp.client.get(REFS.pods, "default", "slow")) as Pod).metadata?.deletionTimestamp,
      { what: "slow terminating" },
    );
    stopping = kubelet.stop();
    // Its own grace (300 s) would outlast this bound; the agent's shutdown grace (1 s) does not.
    await within(stopping, 60_000, "kubelet.stop() to return");
    assert.deepEqual(pids.filter(alive), [], "the pod's process is gone");
    // The deletion in flight was finished: terminal status written, then the final delete.
    await assert.rejects(cp.client.get(REFS.pods, "default", "slow"), (e: unknown) =>
      isStatusError(e, "NotFound"),
    );
  } finally {
    if (!stopping) await kubelet.stop();
    await cp.stop();
    ranges.release();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
