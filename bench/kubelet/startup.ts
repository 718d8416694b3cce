/**
 * Pod startup latency of the node agent: create → Ready observed through the pod informer (a
 * watch), for N pods of a trivial program (`sleep`) with no probes, in the process runtime, with
 * and without the sandbox; plus the agent's memory per running pod (heap and RSS growth of this
 * process, which also holds the API server: an upper bound).
 *
 * Two modes: one at a time (create, wait Ready, next: the latency of one start) and burst
 * (create all back to back: latency under load).
 *
 * Run: node --expose-gc --import tsx bench/kubelet/startup.ts [pods=100]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { startKubelet } from "../../src/kubelet/index.ts";
import { startTestControlPlane } from "../../test/_controlplane.ts";

const N = Number(process.argv[2] ?? 100);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

async function run(sandbox: boolean, runtime: "process" | "simulated", oneAtATime: boolean) {
  const cp = await startTestControlPlane({ controllers: [] });
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-bench-"));
  const kubelet = await startKubelet({
    client: cp.client,
    informers: cp.informers,
    nodeName: "bench",
    dataDir,
    sandbox,
    runtime,
    podCidr: "127.246.0.0/16",
  });
  global.gc?.();
  const before = process.memoryUsage();
  const created = new Map<string, number>();
  const latency: number[] = [];
  let done: () => void = () => {};
  let oneReady: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const pods = cp.informers.get<Pod & KubeObject>(REFS.pods);
  const off = pods.addHandlers({
    onUpdate: (_o, p) => {
      const name = p.metadata?.name ?? "";
      const t0 = created.get(name);
      const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (t0 !== undefined && ready) {
        latency.push(performance.now() - t0);
        created.delete(name);
        oneReady();
        if (latency.length === N) done();
      }
    },
  });
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const name = `p-${i}`;
    const ready = new Promise<void>((r) => {
      oneReady = r;
    });
    created.set(name, performance.now());
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: {
        nodeName: "bench",
        containers: [{ name: "c", image: "sleep", command: ["sleep", "3600"] }],
      },
    });
    if (oneAtATime) await ready;
  }
  await all;
  const total = performance.now() - start;
  global.gc?.();
  const after = process.memoryUsage();
  off();
  console.log(
    JSON.stringify({
      runtime,
      sandbox,
      mode: oneAtATime ? "one at a time" : "burst",
      pods: N,
      p50Ms: Math.round(pct(latency, 50)),
      p99Ms: Math.round(pct(latency, 99)),
      maxMs: Math.round(Math.max(...latency)),
      allReadyMs: Math.round(total),
      heapPerPodKiB: Math.round((after.heapUsed - before.heapUsed) / N / 1024),
      rssPerPodKiB: Math.round((after.rss - before.rss) / N / 1024),
    }),
  );
  const t = performance.now();
  await kubelet.stop();
  console.log(JSON.stringify({ stopAllMs: Math.round(performance.now() - t) }));
  await cp.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

for (const oneAtATime of [true, false]) {
  await run(false, "process", oneAtATime);
  if (process.getuid?.() === 0) await run(true, "process", oneAtATime);
  await run(false, "simulated", oneAtATime);
}
