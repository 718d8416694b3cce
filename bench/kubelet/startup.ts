/**
 * Pod startup latency of the node agent: create → Ready observed through the pod informer (a
 * watch), for N pods of a trivial program (`sleep`) with no probes, in the process runtime, with
 * and without the sandbox, and as root sandboxed with and without a network namespace per pod
 * (`podNetwork`); plus the agent's memory per running pod (heap and RSS growth of this
 * process, which also holds the API server: an upper bound).
 *
 * Two modes: one at a time (create, wait Ready, next: the latency of one start) and burst
 * (create all back to back: latency under load).
 *
 * Anchor: Kubernetes' pod startup SLO (sig-scalability slos/pod_startup_latency.md: p99 ≤ 5 s
 * for stateless pods, image pulls excluded); the issue's aim is p99 < 100 ms.
 *
 * Run: node --expose-gc --import tsx bench/kubelet/startup.ts [--quick] [--netns-only] [pods=100]
 * [burst=N]
 * (`--netns-only`: only the runs with a network namespace per pod, as root: each built by the
 * long-lived helpers in one request per pod and, as the "before"s, by processes started per pod
 * and by the helpers with one request per step, interleaved, with their ratios; `burst=N`: the
 * burst's size, default the pod count.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { startKubelet } from "../../src/kubelet/index.ts";
import { startTestControlPlane } from "../../test/_controlplane.ts";
import { leaseTestPlan } from "../../test/_kubelet.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const netnsOnly = args.includes("--netns-only");
const PODS = Number(args.find((a) => /^\d+$/.test(a)) ?? (quick ? 30 : 100));
const BURST = Number(args.find((a) => a.startsWith("burst="))?.slice(6) ?? PODS);
const pct = percentile;
const result = startResult("pod-startup", { quick });
const lines: Line[] = [];
const SLO = { value: 5000, source: "published: Kubernetes pod startup SLO, p99 ≤ 5 s" };

async function run(
  sandbox: boolean,
  runtime: "process" | "simulated",
  oneAtATime: boolean,
  podNetwork: "host" | "netns" = "host",
  helpers: boolean | "steps" = true,
): Promise<number[]> {
  const N = oneAtATime ? PODS : BURST;
  const cp = await startTestControlPlane({ controllers: [] });
  // Pod addresses of this run's own: a cluster may run beside the benchmark.
  const { plan, release } = await leaseTestPlan("bench-startup");
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-bench-"));
  const kubelet = await startKubelet({
    client: cp.client,
    informers: cp.informers,
    nodeName: "bench",
    dataDir,
    sandbox,
    podNetwork,
    runtime,
    podCidr: plan.podCidr,
    nodeIP: plan.nodeIP,
    podNetworkHelpers: helpers,
    onWarning: (m) => console.error(`warning: ${m}`),
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
      podNetwork,
      ...(podNetwork === "netns" ? { helpers } : {}),
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
  const how =
    helpers === "steps" ? " (helpers, a request per step)" : helpers ? "" : " (processes per pod)";
  const netns = podNetwork === "netns" ? `, own netns${how}` : "";
  const label = `${runtime}${runtime === "process" ? (sandbox ? `, sandboxed${netns}` : ", no sandbox") : ""}, ${oneAtATime ? "one at a time" : `burst of ${N}`}`;
  lines.push({
    measure: `pod startup p99 (${label})`,
    value: pct(latency, 99),
    unit: "ms",
    better: "lower",
    aim: 100,
    anchor: SLO,
    detail: `p50 ${pct(latency, 50).toFixed(0)} ms, max ${Math.max(...latency).toFixed(0)} ms, all Ready ${total.toFixed(0)} ms`,
  });
  if (runtime === "process" && !oneAtATime)
    lines.push({
      measure: `agent heap per running pod (${label})`,
      value: (after.heapUsed - before.heapUsed) / N / 1024 / 1024,
      unit: "MiB",
      better: "lower",
      detail: `after a full GC; process RSS grew ${((after.rss - before.rss) / N / 1024).toFixed(0)} KiB per pod (this process holds the API server too)`,
    });
  const t = performance.now();
  await kubelet.stop();
  console.log(JSON.stringify({ stopAllMs: Math.round(performance.now() - t) }));
  await cp.stop();
  release();
  rmSync(dataDir, { recursive: true, force: true });
  return latency;
}

/**
 * The helpers (a pod's whole set-up in one request) against processes per pod and against the
 * helpers with one request per step of a set-up (three round trips through the agent's event
 * loop), interleaved twice (the machine's load drifts).
 */
async function netnsBeforeAfter(oneAtATime: boolean) {
  const runs = { helpers: [] as number[], steps: [] as number[], spawned: [] as number[] };
  for (let i = 0; i < 2; i++) {
    runs.spawned.push(...(await run(true, "process", oneAtATime, "netns", false)));
    runs.steps.push(...(await run(true, "process", oneAtATime, "netns", "steps")));
    runs.helpers.push(...(await run(true, "process", oneAtATime, "netns", true)));
  }
  const mode = oneAtATime ? "one at a time" : `burst of ${BURST}`;
  for (const [before, label] of [
    ["spawned", "processes started per pod"],
    ["steps", "the helpers with one request per step"],
  ] as const) {
    const ratio = (p: number) => pct(runs[before], p) / pct(runs.helpers, p);
    console.log(
      JSON.stringify({
        mode,
        before,
        p50: `${pct(runs[before], 50).toFixed(0)} → ${pct(runs.helpers, 50).toFixed(0)} ms`,
        p99: `${pct(runs[before], 99).toFixed(0)} → ${pct(runs.helpers, 99).toFixed(0)} ms`,
        ratioP50: ratio(50).toFixed(2),
        ratioP99: ratio(99).toFixed(2),
      }),
    );
    lines.push({
      measure: `pod startup p99 (process, sandboxed, own netns by the helpers, ${mode}, 2 runs, against ${before})`,
      value: pct(runs.helpers, 99),
      unit: "ms",
      better: "lower",
      aim: 100,
      anchor: {
        value: pct(runs[before], 99),
        source: `measured, same run: the netns built by ${label}`,
      },
      detail: `p50 ${pct(runs.helpers, 50).toFixed(0)} ms against ${pct(runs[before], 50).toFixed(0)} ms (ratio ${ratio(50).toFixed(2)})`,
    });
  }
}

for (const oneAtATime of [true, false]) {
  if (!netnsOnly) await run(false, "process", oneAtATime);
  if (process.getuid?.() === 0 && !netnsOnly) await run(true, "process", oneAtATime);
  if (process.getuid?.() === 0 && !netnsOnly) await run(true, "process", oneAtATime, "netns");
  if (process.getuid?.() === 0 && netnsOnly) await netnsBeforeAfter(oneAtATime);
  if (!netnsOnly) await run(false, "simulated", oneAtATime);
}
console.log(`wrote ${result.done(lines)}`);
