import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitFor } from "./wait.ts";

/** A check that returns the given results in turn (throwing the errors), then the last forever. */
function sequence(results: unknown[]): { check: () => unknown; tries: () => number } {
  let i = 0;
  return {
    check: () => {
      const r = results[Math.min(i++, results.length - 1)];
      if (r instanceof Error) throw r;
      return r;
    },
    tries: () => i,
  };
}

describe("waitFor", () => {
  const resolves: { name: string; results: unknown[]; value: unknown; tries: number }[] = [
    { name: "a value at once", results: ["ready"], value: "ready", tries: 1 },
    { name: "a value after not-yets", results: [undefined, false, 7], value: 7, tries: 3 },
    { name: "0 as done", results: [false, 0], value: 0, tries: 2 },
    { name: "null as done", results: [undefined, null], value: null, tries: 2 },
    { name: "the empty string as done", results: [""], value: "", tries: 1 },
    { name: "true from a predicate", results: [false, false, true], value: true, tries: 3 },
  ];
  for (const c of resolves) {
    test(`resolves with ${c.name}`, async () => {
      const s = sequence(c.results);
      assert.equal(await waitFor(s.check, { what: c.name, intervalMs: 1 }), c.value);
      assert.equal(s.tries(), c.tries);
    });
  }

  test("awaits an async check", async () => {
    let n = 0;
    const v = await waitFor(async () => (++n === 3 ? { n } : undefined), {
      what: "n",
      intervalMs: 1,
    });
    assert.deepEqual(v, { n: 3 });
  });

  test("fails after timeoutMs naming what was awaited and the last value seen", async () => {
    const s = sequence([false, undefined]);
    await assert.rejects(waitFor(s.check, { what: "the pod to be Ready", timeoutMs: 30 }), (e) => {
      assert.ok(e instanceof Error);
      assert.match(
        e.message,
        /^timed out after \d+ ms \(\d+ tries\) waiting for the pod to be Ready; last value: undefined$/,
      );
      return true;
    });
    assert.ok(s.tries() >= 2, "tried again before giving up");
  });

  test("fails at once with the check's own error unless errors are retried", async () => {
    const boom = new Error("boom");
    const s = sequence([undefined, boom, "late"]);
    await assert.rejects(waitFor(s.check, { what: "x", intervalMs: 1 }), boom);
    assert.equal(s.tries(), 2);
  });

  test("with retryErrors, retries through errors and resolves once the check holds", async () => {
    const s = sequence([new Error("connection refused"), undefined, "up"]);
    assert.equal(await waitFor(s.check, { what: "x", intervalMs: 1, retryErrors: true }), "up");
    assert.equal(s.tries(), 3);
  });

  test("with retryErrors, a time-out reports the last error and keeps it as the cause", async () => {
    const last = new Error("expected 3 replicas, saw 2");
    const s = sequence([new Error("first"), last]);
    await assert.rejects(
      waitFor(s.check, { what: "3 replicas", timeoutMs: 30, retryErrors: true }),
      (e) => {
        assert.ok(e instanceof Error);
        assert.match(
          e.message,
          /waiting for 3 replicas; last error: Error: expected 3 replicas, saw 2$/,
        );
        assert.equal(e.cause, last);
        return true;
      },
    );
  });

  test("shows a long last error shortened", async () => {
    const check = () => {
      throw new Error("y".repeat(5000));
    };
    await assert.rejects(waitFor(check, { what: "x", timeoutMs: 5, retryErrors: true }), (e) => {
      assert.ok(e instanceof Error);
      assert.ok(e.message.length < 1200, `${e.message.length} characters`);
      assert.ok(e.message.endsWith("…"));
      return true;
    });
  });
});
