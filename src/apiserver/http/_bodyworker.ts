/**
 * The body worker thread's entry: answers each `{ id, job }` message with `{ id, verdict, body }`
 * (the job's body handed back), or `{ id, failure }` when the job threw, one job at a time, from
 * `_bodyjob.ts`. Started by
 * `bodypool.ts`; as a file of its own so that the bundle can ship it beside the CLI
 * (`scripts/bundle.mjs` builds it as a second entry).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { createOpenApi } from "../openapi/index.ts";
import { RESOURCES } from "../resources.ts";
import { type BodyJob, runBodyJob } from "./_bodyjob.ts";

const port = parentPort;
if (!port) throw new Error("the body worker runs only as a worker thread");

// The thread runs at the process's CPU priority. A lower one (a nice value on the thread) kept
// the event loop first on a busy machine, but there it starved the thread: a valid 2.6 MB pod
// that kube refuses with etcd's 500 got the job timeout's 504 instead (over 60 s at load 25 on
// 2 cores, for ~1.5 s of CPU).

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
