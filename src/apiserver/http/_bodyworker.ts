/**
 * The body worker thread's entry: answers each `{ id, job }` message with `{ id, verdict, body }`
 * (the job's body handed back), or `{ id, failure }` when the job threw, one job at a time, from
 * `_bodyjob.ts`. Started by
 * `bodypool.ts`; as a file of its own so that the bundle can ship it beside the CLI
 * (`scripts/bundle.mjs` builds it as a second entry).
 *
 * @module
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { createOpenApi } from "../openapi/index.ts";
import { RESOURCES } from "../resources.ts";
import { type BodyJob, runBodyJob } from "./_bodyjob.ts";

const port = parentPort;
if (!port) throw new Error("the body worker runs only as a worker thread");

/**
 * How much less CPU priority the thread takes than the event loop's (a nice value): enough that
 * the loop comes first when the cores are busy, not so much that a body starves on a shared
 * machine (at 10 a 3 MiB body took half a minute beside a loaded test run).
 */
const NICENESS = 5;

/**
 * On Linux, this thread alone runs at a lower CPU priority: a nice value set on a thread's id
 * applies to that thread only (`/proc/thread-self` names it). So where the cores are busy, a
 * stream of big bodies takes the CPU the event loop leaves, not the CPU the API, DNS and the
 * controllers need. Elsewhere, or if it is not allowed, the thread runs as it is.
 */
function yieldCpu(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, NICENESS);
  } catch {
    // Not Linux, or no /proc.
  }
}
yieldCpu();

const openapi = createOpenApi(
  RESOURCES.map((r) => ({ ...r, subresources: r.subresources.map((s) => s.name) })),
);

port.on("message", ({ id, job }: { id: number; job: BodyJob }) => {
  try {
    const verdict = runBodyJob(job, openapi);
    // The body goes back with the answer, for a job the main thread has to send again.
    port.postMessage({ id, verdict, body: job.body }, [job.body.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id, failure: e instanceof Error ? e.message : String(e) });
  }
});
port.postMessage({ ready: true });
