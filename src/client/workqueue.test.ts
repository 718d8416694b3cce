import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock, settle } from "./_testing/clock.ts";
import {
  bucketRateLimiter,
  defaultControllerRateLimiter,
  exponentialRateLimiter,
} from "./ratelimit.ts";
import { type QueueItem, WorkQueue } from "./workqueue.ts";

/**
 * The item `get` hands out right now, or "pending" when it would wait (the waiting `get` then
 * stays registered and takes the next key, so only expect "pending" at the end of a test).
 */
async function tryGet(q: WorkQueue): Promise<string> {
  let got: QueueItem<string> | undefined;
  void q.get().then((item) => {
    got = item;
  });
  await settle();
  if (!got) return "pending";
  return got.shutdown ? "shutdown" : got.key;
}

type Step = ["add", string] | ["done", string] | ["get", string] | ["len", number];

describe("WorkQueue guarantees", () => {
  const cases: { name: string; steps: Step[] }[] = [
    {
      name: "a key added several times before a worker takes it is processed once",
      steps: [
        ["add", "a"],
        ["add", "a"],
        ["add", "a"],
        ["len", 1],
        ["get", "a"],
        ["len", 0],
      ],
    },
    {
      name: "keys come out in the order they were first added",
      steps: [
        ["add", "a"],
        ["add", "b"],
        ["add", "c"],
        ["add", "a"],
        ["get", "a"],
        ["get", "b"],
        ["get", "c"],
      ],
    },
    {
      name: "a key re-added while processing is held back and runs once more after done",
      steps: [
        ["add", "a"],
        ["get", "a"],
        ["add", "a"],
        ["add", "a"],
        ["len", 0],
        ["done", "a"],
        ["len", 1],
        ["get", "a"],
        ["done", "a"],
        ["len", 0],
      ],
    },
    {
      name: "a key not re-added is not queued again by done",
      steps: [
        ["add", "a"],
        ["get", "a"],
        ["done", "a"],
        ["len", 0],
      ],
    },
    {
      name: "other keys are served while one is processing",
      steps: [
        ["add", "a"],
        ["get", "a"],
        ["add", "a"],
        ["add", "b"],
        ["get", "b"],
        ["done", "a"],
        ["get", "a"],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const q = new WorkQueue({ clock: new FakeClock() });
      for (const [op, arg] of c.steps) {
        if (op === "add") q.add(arg);
        else if (op === "done") q.done(arg);
        else if (op === "len") assert.equal(q.len(), arg);
        else assert.equal(await tryGet(q), arg);
      }
    });
  }
});

describe("WorkQueue.get", () => {
  it("waits for an add when the queue is empty", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.get();
    let resolved = false;
    void p.then(() => {
      resolved = true;
    });
    await settle();
    assert.equal(resolved, false);
    q.add("x");
    assert.deepEqual(await p, { key: "x", shutdown: false });
  });

  it("never hands one key to two waiting workers at once", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const first = q.get();
    const second = q.get();
    let secondItem: QueueItem<string> | undefined;
    void second.then((i) => {
      secondItem = i;
    });
    q.add("k");
    assert.deepEqual(await first, { key: "k", shutdown: false });
    q.add("k");
    await settle();
    assert.equal(secondItem, undefined);
    q.done("k");
    await settle();
    assert.deepEqual(secondItem, { key: "k", shutdown: false });
  });
});

describe("WorkQueue.addAfter", () => {
  it("adds the key once the delay has passed on the injected clock", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter("a", 100);
    assert.equal(q.len(), 0);
    await clock.advance(99);
    assert.equal(q.len(), 0);
    await clock.advance(1);
    assert.equal(q.len(), 1);
  });

  it("keeps the earliest of several delays for one key and adds it once", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter("a", 100);
    q.addAfter("a", 50);
    q.addAfter("a", 200);
    await clock.advance(50);
    assert.equal(q.len(), 1);
    await clock.advance(500);
    assert.equal(q.len(), 1);
    assert.equal(clock.pending(), 0);
  });

  it("adds at once for a zero or negative delay", () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter("a", 0);
    q.addAfter("b", -5);
    assert.equal(q.len(), 2);
  });
});

describe("WorkQueue rate limiting", () => {
  it("backs a failing key off exponentially from 5 ms and forget resets it", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, rateLimiter: exponentialRateLimiter() });
    const expected = [5, 10, 20, 40, 80];
    for (const [i, delay] of expected.entries()) {
      assert.equal(q.numRequeues("a"), i);
      q.addRateLimited("a");
      await clock.advance(delay - 1);
      assert.equal(q.len(), 0, `failure ${i + 1} not before ${delay} ms`);
      await clock.advance(1);
      assert.equal(q.len(), 1, `failure ${i + 1} after ${delay} ms`);
      assert.equal(await tryGet(q), "a");
      q.done("a");
    }
    q.forget("a");
    assert.equal(q.numRequeues("a"), 0);
    q.addRateLimited("a");
    await clock.advance(5);
    assert.equal(q.len(), 1);
  });

  const capCases = [
    { failures: 1, delay: 5 },
    { failures: 10, delay: 5 * 2 ** 9 },
    { failures: 18, delay: 655_360 },
    { failures: 19, delay: 1_000_000 },
    { failures: 2000, delay: 1_000_000 },
  ];
  for (const { failures, delay } of capCases) {
    it(`exponential back-off after ${failures} failures is ${delay} ms`, () => {
      const l = exponentialRateLimiter<string>();
      let last = 0;
      for (let i = 0; i < failures; i++) last = l.when("k");
      assert.equal(last, delay);
      assert.equal(l.numRequeues("k"), failures);
    });
  }

  it("the overall token bucket lets a burst of 100 through, then 10 per second", async () => {
    const clock = new FakeClock();
    const l = bucketRateLimiter<string>(clock);
    for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 0);
    assert.equal(l.when("k100"), 100);
    assert.equal(l.when("k101"), 200);
    await clock.advance(1000);
    // Ten tokens came back, the two borrowed above are repaid: eight go through at once.
    for (let i = 0; i < 8; i++) assert.equal(l.when(`late${i}`), 0);
    assert.equal(l.when("late8"), 100);
  });

  it("the default controller limiter takes the longer of back-off and bucket", () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter<string>(clock);
    for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 5);
    assert.equal(l.when("k100"), 100);
    assert.equal(l.numRequeues("k0"), 1);
    l.forget("k0");
    assert.equal(l.numRequeues("k0"), 0);
  });
});

describe("WorkQueue shutdown", () => {
  it("answers shutdown to waiting workers and ignores later adds", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter("later", 10);
    q.shutDown();
    assert.deepEqual(await waiting, { key: undefined, shutdown: true });
    assert.equal(clock.pending(), 0, "delayed adds are cancelled");
    q.add("x");
    q.addRateLimited("y");
    assert.equal(q.len(), 0);
    assert.equal(await tryGet(q), "shutdown");
    assert.equal(q.shuttingDown(), true);
  });

  it("still hands out keys queued before the shutdown", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    q.add("b");
    q.shutDown();
    assert.equal(await tryGet(q), "a");
    assert.equal(await tryGet(q), "b");
    assert.equal(await tryGet(q), "shutdown");
  });

  it("shutDownWithDrain resolves only when every key in progress is done", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    assert.equal(await tryGet(q), "a");
    let drained = false;
    void q.shutDownWithDrain().then(() => {
      drained = true;
    });
    await settle();
    assert.equal(drained, false);
    q.done("a");
    await settle();
    assert.equal(drained, true);
  });

  it("shutDownWithDrain resolves at once when nothing is in progress", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    await q.shutDownWithDrain();
    assert.equal(q.shuttingDown(), true);
  });
});
