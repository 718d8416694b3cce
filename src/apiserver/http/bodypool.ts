/**
 * A small pool of worker threads (`node:worker_threads`) that take big request bodies off the
 * event loop: a body over {@link OFFLOAD_BYTES} is parsed, typed-decoded and checked there (see
 * `_bodyjob.ts`), so a 3 MiB YAML body that kube would refuse costs the main thread a copy and a
 * small answer instead of seconds in which nothing else runs.
 *
 * Contract:
 * - At most `workers` threads (default: one less than the cores, at least 1, at most 2), started
 *   on first use and not keeping the process alive; one job per thread at a time, in order.
 * - At most `maxQueued` jobs wait (default 8 per thread). One more is refused at once with
 *   {@link BodyPoolSaturated}, which the handler answers as kube's max-in-flight and priority
 *   and fairness filters answer a request they cannot queue: 429 with `Retry-After: 1`, which
 *   client-go and kubectl retry. {@link BodyPool.saturated} lets the handler refuse before it
 *   reads a body that could not be queued.
 * - A job that runs longer than `jobTimeoutMs` (default 60 s, kube-apiserver's request timeout)
 *   ends its thread and fails with {@link BodyWorkerFailed} (`timeout`); so does a thread that
 *   dies (out of memory under `maxHeapMb`, default 1024). The next job starts a new thread.
 * - `close()` ends every thread and fails what waits.
 *
 * The worker's file: `loopkube-bodyworker.mjs` beside the bundle, whose build defines
 * `LOOPKUBE_BODY_WORKER` (scripts/bundle.mjs); `_bodyworker.js` beside this module in the
 * per-module build; `_bodyworker.ts`, through tsx, when run from the sources.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { Worker, type WorkerOptions } from "node:worker_threads";
import type { BodyJob, BodyVerdict } from "./_bodyjob.ts";

/**
 * Bodies larger than this go to the pool. Measured on the main thread (2 cores, loaded), per
 * request, parsed here against sent to a worker: at 4 KiB 1.5 ms against 1.3 ms, at 17 KiB
 * 2.7 against 3.1 for a valid ConfigMap and 1.9 against 1.3 for one refused, at 69 KiB 12
 * against 11 and 3.8 against 2.2. Below 64 KiB a body costs the loop a few milliseconds at most
 * (20 ms for a YAML flow mapping of 5,000 keys) and waits behind no big body in the pool.
 */
export const OFFLOAD_BYTES = 64 * 1024;

declare const LOOPKUBE_BODY_WORKER: string | undefined;

/**
 * Run from TypeScript sources (tests and benchmarks, under tsx), the worker thread needs tsx too,
 * and tsx registers itself in worker threads only on recent Node versions (22.22.3+, 24.11.1+):
 * where a module of TypeScript-only syntax (`_tsprobe.ts`) does not load, the thread registers
 * tsx before it loads its entry.
 */
const TS_BOOT = `
const { workerData } = require("node:worker_threads");
(async () => {
  try {
    await import(workerData.probe);
  } catch {
    const { register } = await import(workerData.tsx);
    register();
  }
  await import(workerData.entry);
})();
`;

function startWorker(options: WorkerOptions): Worker {
  if (typeof LOOPKUBE_BODY_WORKER === "string") {
    return new Worker(new URL(LOOPKUBE_BODY_WORKER, import.meta.url), options);
  }
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./_bodyworker.js", import.meta.url), options);
  }
  const workerData = {
    entry: new URL("./_bodyworker.ts", import.meta.url).href,
    probe: new URL("./_tsprobe.ts", import.meta.url).href,
    tsx: import.meta.resolve("tsx/esm/api"),
  };
  return new Worker(TS_BOOT, { ...options, eval: true, workerData });
}

/** The pool cannot take another job now: answer 429 with Retry-After. */
export class BodyPoolSaturated extends Error {
  override readonly name = "BodyPoolSaturated";
}

/** A job's thread failed (timeout, out of memory, crash) or the pool closed. */
export class BodyWorkerFailed extends Error {
  override readonly name = "BodyWorkerFailed";
  constructor(
    /** `unavailable`: no thread could start (the caller may do the work itself). */
    readonly why: "timeout" | "crash" | "closed" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

export interface BodyPoolOptions {
  workers?: number;
  maxQueued?: number;
  jobTimeoutMs?: number;
  maxHeapMb?: number;
}

/** A verdict, and the job's body handed back (it travels to the thread and back, not copied). */
export interface BodyAnswer {
  verdict: BodyVerdict;
  body: Uint8Array;
}

interface Pending {
  job: BodyJob;
  resolve: (v: BodyAnswer) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  current?: { id: number; pending: Pending; timer: NodeJS.Timeout } | undefined;
}

export class BodyPool {
  private readonly size: number;
  private readonly maxQueued: number;
  private readonly jobTimeoutMs: number;
  private readonly maxHeapMb: number;
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: BodyPoolOptions = {}) {
    this.size = options.workers ?? Math.min(2, Math.max(1, availableParallelism() - 1));
    this.maxQueued = options.maxQueued ?? 8 * this.size;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 60_000;
    this.maxHeapMb = options.maxHeapMb ?? 1024;
  }

  /** Whether a job submitted now would be refused. */
  saturated(): boolean {
    return this.queue.length >= this.maxQueued;
  }

  /**
   * Runs a job. Its body's memory moves to the thread (the caller's view of it is emptied) and
   * comes back with the answer, copied first only if it shares its buffer with other data.
   */
  run(job: BodyJob): Promise<BodyAnswer> {
    if (this.closed)
      return Promise.reject(new BodyWorkerFailed("closed", "the server is stopping"));
    if (this.saturated()) return Promise.reject(new BodyPoolSaturated("body workers are busy"));
    const { body } = job;
    const own =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
        ? body
        : new Uint8Array(body);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, body: own }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0))
      p.reject(new BodyWorkerFailed("closed", "the server is stopping"));
    await Promise.all(this.threads.splice(0).map((t) => this.end(t, "closed")));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread = this.threads.find((t) => t.ready && !t.current);
      if (!thread) {
        if (this.threads.length < this.size) this.spawn();
        return;
      }
      const pending = this.queue.shift()!;
      const id = this.nextId++;
      const t = thread;
      const timer = setTimeout(() => {
        void this.end(t, "timeout");
      }, this.jobTimeoutMs);
      timer.unref();
      t.current = { id, pending, timer };
      t.worker.postMessage({ id, job: pending.job }, [pending.job.body.buffer as ArrayBuffer]);
    }
  }

  private spawn(): void {
    const worker = startWorker({ resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb } });
    worker.unref();
    const thread: Thread = { worker, ready: false };
    this.threads.push(thread);
    worker.on(
      "message",
      (m: {
        ready?: true;
        id?: number;
        verdict?: BodyVerdict;
        body?: Uint8Array;
        failure?: string;
      }) => {
        if (m.ready) {
          thread.ready = true;
          this.dispatch();
          return;
        }
        const current = thread.current;
        if (!current || current.id !== m.id) return;
        clearTimeout(current.timer);
        thread.current = undefined;
        if (m.verdict && m.body) current.pending.resolve({ verdict: m.verdict, body: m.body });
        else
          current.pending.reject(
            new BodyWorkerFailed("crash", m.failure ?? "the body worker failed"),
          );
        this.dispatch();
      },
    );
    const gone = (why: string) => {
      const i = this.threads.indexOf(thread);
      if (i < 0) return;
      this.threads.splice(i, 1);
      if (thread.current) {
        clearTimeout(thread.current.timer);
        thread.current.pending.reject(new BodyWorkerFailed("crash", why));
        thread.current = undefined;
      }
      if (!thread.ready) {
        // It never started (its file is missing, it cannot load): say so to what waits rather
        // than start thread after thread; the next job tries again.
        for (const p of this.queue.splice(0)) {
          p.reject(new BodyWorkerFailed("unavailable", `no body worker could start: ${why}`));
        }
        return;
      }
      if (!this.closed) this.dispatch();
    };
    worker.on("error", (e) => gone(e.message));
    worker.on("exit", (code) => gone(`the body worker exited (${code})`));
  }

  private async end(thread: Thread, why: "timeout" | "closed"): Promise<void> {
    const i = this.threads.indexOf(thread);
    if (i >= 0) this.threads.splice(i, 1);
    if (thread.current) {
      clearTimeout(thread.current.timer);
      thread.current.pending.reject(
        new BodyWorkerFailed(
          why,
          why === "timeout" ? "the request body took too long to decode" : "the server is stopping",
        ),
      );
      thread.current = undefined;
    }
    await thread.worker.terminate();
    if (!this.closed) this.dispatch();
  }
}
