import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "../_testing/index.ts";
import { FakeClock, settle } from "./_testing/clock.ts";
import { TerminalError } from "./errors.ts";
import { exponentialRateLimiter } from "./ratelimit.ts";
import { type ReconcileResult, runController } from "./runner.ts";
import { WorkQueue } from "./workqueue.ts";

function setup(reconcile: (key: string) => Promise<ReconcileResult>, workers = 1) {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock, rateLimiter: exponentialRateLimiter() });
  const errors: { key: string; terminal: boolean }[] = [];
  const controller = runController({
    name: "test",
    queue,
    reconcile,
    workers,
    onError: (_e, { key, terminal }) => errors.push({ key, terminal }),
  });
  return { clock, queue, controller, errors };
}

describe("runController", () => {
  it("retries a failing key with back-off and forgets it once it succeeds", async () => {
    let calls = 0;
    const { clock, queue, controller, errors } = setup(async () => {
      calls++;
      if (calls < 3) throw new Error("boom");
    });
    queue.add("a");
    await settle();
    assert.equal(calls, 1);
    assert.equal(queue.numRequeues("a"), 1);
    await clock.advance(4);
    assert.equal(calls, 1, "first retry waits 5 ms");
    await clock.advance(1);
    assert.equal(calls, 2);
    await clock.advance(9);
    assert.equal(calls, 2, "second retry waits 10 ms");
    await clock.advance(1);
    assert.equal(calls, 3);
    assert.equal(queue.numRequeues("a"), 0, "success forgets the back-off");
    assert.deepEqual(errors, [
      { key: "a", terminal: false },
      { key: "a", terminal: false },
    ]);
    assert.deepEqual(controller.stats(), { reconciles: 3, errors: 2, terminalErrors: 0 });
    queue.shutDown();
    await controller.done;
  });

  it("does not retry a TerminalError and forgets the key", async () => {
    let calls = 0;
    const { clock, queue, controller, errors } = setup(async () => {
      calls++;
      throw new TerminalError("never satisfiable");
    });
    queue.add("a");
    await settle();
    await clock.advance(10_000);
    assert.equal(calls, 1);
    assert.equal(queue.numRequeues("a"), 0);
    assert.deepEqual(errors, [{ key: "a", terminal: true }]);
    queue.shutDown();
    await controller.done;
  });

  it("requeues after the asked delay on success", async () => {
    const seen: number[] = [];
    const { clock, queue, controller } = setup(async () => {
      seen.push(clock.now());
      return seen.length < 3 ? { requeueAfter: 1000 } : undefined;
    });
    const t0 = clock.now();
    queue.add("a");
    await settle();
    await clock.advance(5000);
    assert.deepEqual(
      seen.map((t) => t - t0),
      [0, 1000, 2000],
    );
    queue.shutDown();
    await controller.done;
  });

  it("never runs one key in two workers at once, and runs a re-added key once more", async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const gates: (() => void)[] = [];
    const { queue, controller } = setup(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
    }, 4);
    queue.add("a");
    await settle();
    queue.add("a");
    queue.add("a");
    await settle();
    assert.equal(calls, 1);
    gates.shift()!();
    await settle();
    assert.equal(calls, 2);
    gates.shift()!();
    await settle();
    assert.equal(calls, 2);
    assert.equal(maxRunning, 1);
    queue.shutDown();
    await controller.done;
  });

  it("runs different keys in parallel up to the worker count", async () => {
    let running = 0;
    let maxRunning = 0;
    const gates: (() => void)[] = [];
    const { queue, controller } = setup(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
    }, 2);
    for (const k of ["a", "b", "c"]) queue.add(k);
    await settle();
    assert.equal(maxRunning, 2);
    for (let i = 0; i < 3; i++) {
      gates.shift()?.();
      await settle();
    }
    queue.shutDown();
    await controller.done;
    assert.equal(running, 0);
  });

  it("keeps working when the error reporter throws", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    let calls = 0;
    const controller = runController({
      name: "t",
      queue,
      reconcile: async () => {
        calls++;
        throw new TerminalError("x");
      },
      onError: () => {
        throw new Error("reporter broke");
      },
    });
    queue.add("a");
    await settle();
    queue.add("b");
    await settle();
    assert.equal(calls, 2);
    queue.shutDown();
    await controller.done;
  });

  it("lets a macrotask run during a long cascade of keys that each add the next", async () => {
    const queue = new WorkQueue<string>();
    const total = 40;
    let processed = 0;
    let seenByMacrotask: number | undefined;
    const done = new Promise<void>((resolve) => {
      runController({
        name: "t",
        queue,
        reconcile: async (key) => {
          // Each key holds the loop for 1 ms of real work, then queues the next one: with
          // microtasks alone the whole chain would run before any timer or I/O callback.
          const until = performance.now() + 1;
          while (performance.now() < until) {}
          processed++;
          const n = Number(key);
          if (n + 1 < total) queue.add(String(n + 1));
          else resolve();
        },
      });
    });
    setImmediate(() => {
      seenByMacrotask = processed;
    });
    queue.add("0");
    await done;
    assert.ok(
      seenByMacrotask !== undefined && seenByMacrotask < total,
      `ran after ${seenByMacrotask} keys`,
    );
    queue.shutDown();
  });
});

describe("runController under a long burst", () => {
  it("lets timers and I/O run between reconciles instead of one unbroken chain of microtasks", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    let done = 0;
    const { queue } = setup(async () => {
      const until = performance.now() + 1; // 1 ms of synchronous work per key
      while (performance.now() < until);
      done++;
    });
    const timerSawDone = new Promise<number>((resolve) => setTimeout(() => resolve(done), 0));
    for (const k of keys) queue.add(k);
    const seen = await timerSawDone;
    assert.ok(seen < keys.length, `a 0 ms timer ran only after all ${seen} reconciles`);
    await waitFor(() => done >= keys.length, { what: `all ${keys.length} keys reconciled` });
    queue.shutDown();
  });
});
