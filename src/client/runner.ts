/**
 * Runs a controller's workers over its work queue. The retry policy lives here and nowhere else:
 * reconcile functions never sleep or retry, they return or throw.
 *
 * - success → `forget` the key's back-off; `{ requeueAfter }` → also `addAfter(key, ms)`;
 * - thrown `TerminalError` → `forget`, no retry (reported through `onError`);
 * - any other error → `addRateLimited(key)` (reported through `onError`).
 *
 * Each worker takes one key at a time; the queue guarantees that no key runs in two workers at
 * once. Workers share an event-loop budget: once they have kept the loop for more than 5 ms in
 * one unbroken run of microtasks, the next key starts after `setImmediate`, so I/O and timers
 * run in between. The returned `done` resolves when the queue is shut down and every worker has finished
 * its current key.
 *
 * Workers yield to the event loop (`setImmediate`) before a key once they have run for more than
 * `YIELD_AFTER_MS` without one. In-process clients, the store's watch fan-out and the work queue
 * all continue through promises, so without it a busy cluster runs controller work as one
 * unbroken chain of microtasks and starves every socket and timer: at 15,000 pods the API server
 * stopped answering TLS handshakes and DNS stopped answering for minutes.
 *
 * @module
 */
import { isTerminalError } from "./errors.ts";
import type { WorkQueue } from "./workqueue.ts";

// biome-ignore lint/suspicious/noConfusingVoidType: a reconcile may return nothing.
export type ReconcileResult = { requeueAfter?: number } | void;

export interface ControllerOptions<K> {
  /** Used in error reports. */
  name: string;
  queue: WorkQueue<K>;
  reconcile: (key: K) => Promise<ReconcileResult>;
  /** Concurrent workers; default 1. */
  workers?: number;
  /** Told about every failed reconcile; `terminal` is true when it will not be retried. */
  onError?: (error: unknown, context: { controller: string; key: K; terminal: boolean }) => void;
}

export interface ControllerStats {
  reconciles: number;
  errors: number;
  terminalErrors: number;
}

export interface RunningController {
  /** Resolves when the queue has shut down and every worker has returned. */
  done: Promise<void>;
  stats(): ControllerStats;
}

/**
 * How long the workers of this process may keep the event loop, in one unbroken run of
 * microtasks, before the next key waits for a macrotask turn (like a scheduler's time slice).
 */
const LOOP_BUDGET_MS = 5;
/** When the current unbroken run began; cleared by the first macrotask turn after it. */
let heldSince: number | undefined;

/**
 * Whether a worker should let the event loop run before its next key. A single change (a pod
 * turning Ready → its slice → DNS and proxy) stays one unbroken run, as fast as it can be; a
 * cascade longer than the budget is cut at key boundaries.
 */
function overBudget(): boolean {
  const now = performance.now();
  if (heldSince === undefined) {
    heldSince = now;
    setImmediate(() => {
      heldSince = undefined;
    });
    return false;
  }
  return now - heldSince > LOOP_BUDGET_MS;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function runController<K>(options: ControllerOptions<K>): RunningController {
  const { name, queue, reconcile, onError } = options;
  const stats: ControllerStats = { reconciles: 0, errors: 0, terminalErrors: 0 };

  const report = (error: unknown, key: K, terminal: boolean) => {
    try {
      onError?.(error, { controller: name, key, terminal });
    } catch {
      // A failing error reporter must not stop the worker.
    }
  };

  const processOne = async (key: K) => {
    stats.reconciles++;
    try {
      const result = await reconcile(key);
      queue.forget(key);
      if (result && result.requeueAfter !== undefined) queue.addAfter(key, result.requeueAfter);
    } catch (error) {
      if (isTerminalError(error)) {
        stats.terminalErrors++;
        queue.forget(key);
        report(error, key, true);
      } else {
        stats.errors++;
        queue.addRateLimited(key);
        report(error, key, false);
      }
    } finally {
      queue.done(key);
    }
  };

  const worker = async () => {
    for (;;) {
      const item = await queue.get();
      if (item.shutdown) return;
      // With the in-process client a write, its watch fan-out and the handlers it wakes are all
      // microtasks, so a cascade of reconciles (a rollout of 100 pods) would hold the event loop
      // for seconds: no I/O (HTTP API, DNS, proxy) and no timer would run until it ends. Past
      // the budget, the next key waits for a macrotask turn and lets them in.
      if (overBudget()) await yieldToEventLoop();
      await processOne(item.key);
    }
  };

  const count = Math.max(1, options.workers ?? 1);
  const done = Promise.all(Array.from({ length: count }, worker)).then(() => undefined);
  return { done, stats: () => ({ ...stats }) };
}
