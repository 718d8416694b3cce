/**
 * Time to Complete of a Job of 1,000 completions at parallelism 100 on simulated pods (issue 15),
 * on a whole cluster (`startCluster`, runtime `simulated`: a Job's pod exits 0 as soon as it
 * runs, as kwok's pod-complete stage): from the create call to the `Complete` condition, seen
 * through a watch. So it measures the control plane — Job controller, scheduler, node agent and
 * API server — turning pods over 100 at a time, not any workload.
 *
 * Run: node --import tsx bench/jobs/jobs.bench.ts [--quick] [--completions N] [--parallelism N]
 *   --quick  100 completions at parallelism 10
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Job } from "kubernetes-types/batch/v1.js";
import { REFS } from "../../src/api/refs.ts";
import { type KubeObject, typed, type WatchEvent } from "../../src/api/types.ts";
import { startCluster } from "../../src/index.ts";
import { startResult } from "../_result.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    completions: { type: "string" },
    parallelism: { type: "string" },
  },
});
const quick = values.quick === true;
const completions = Number(values.completions ?? (quick ? 100 : 1000));
const parallelism = Number(values.parallelism ?? (quick ? 10 : 100));
const result = startResult("jobs", { quick });

const cluster = await startCluster({
  ephemeral: true,
  apiPort: 0,
  dnsPort: 0,
  updateKubeconfig: false,
  runtime: "simulated",
  logLevel: "error",
});
try {
  const job: KubeObject = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "bench", namespace: "default" },
    spec: {
      completions,
      parallelism,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "work", image: "busybox", command: ["true"] }],
        },
      },
    },
  };
  let done: (job: Job) => void = () => {};
  const completed = new Promise<Job>((r) => {
    done = r;
  });
  const watch = cluster.client.watch(REFS.jobs, "default", {}, (e: WatchEvent) => {
    if (e.type !== "ADDED" && e.type !== "MODIFIED") return;
    const j = typed<Job>(e.object);
    if (j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")) done(j);
  });
  const start = performance.now();
  await cluster.client.create(REFS.jobs, "default", job);
  const finished = await completed;
  const seconds = (performance.now() - start) / 1000;
  watch.stop();
  const succeeded = finished.status?.succeeded ?? 0;
  console.log(
    `Job of ${completions} completions, parallelism ${parallelism}, simulated pods: Complete after ${seconds.toFixed(2)} s (${succeeded} succeeded, ${(succeeded / seconds).toFixed(0)} pods/s)`,
  );
  result.done([
    {
      measure: `Job ${completions} completions, parallelism ${parallelism}: time to Complete`,
      value: Number(seconds.toFixed(2)),
      unit: "s",
      better: "lower",
      detail: `${(succeeded / seconds).toFixed(0)} pods/s, simulated pods`,
    },
  ]);
} finally {
  await cluster.stop();
}
