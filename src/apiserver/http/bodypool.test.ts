import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BodyJob } from "./_bodyjob.ts";
import { BodyPool, BodyPoolSaturated, BodyWorkerFailed } from "./bodypool.ts";

function job(text: string, contentType = "application/json"): BodyJob {
  return {
    body: Buffer.from(text),
    contentType,
    verb: "create",
    ref: { group: "", version: "v1", resource: "configmaps" },
    namespace: "default",
    options: {},
    snapshot: [],
  };
}

/** A YAML flow mapping of about 12 MiB (the pool has no size limit): seconds of js-yaml. */
function heavy(): BodyJob {
  const pairs: string[] = [];
  for (let i = 0, size = 0; size < 12 * 1024 * 1024; i++) {
    pairs.push(`k${i}: v${i}`);
    size += pairs[pairs.length - 1]!.length + 2;
  }
  return job(`metadata:\n  name: big\ndata: {${pairs.join(", ")}}\n`, "application/yaml");
}

describe("BodyPool", () => {
  test("runs a job on a worker thread and hands the body back with the verdict", async () => {
    const pool = new BodyPool({ workers: 1 });
    try {
      const sent = job('{"metadata":{"name":"c"},"data":{"a":1}}');
      const text = Buffer.from(sent.body).toString();
      const { verdict, body } = await pool.run(sent);
      assert.equal(verdict.ok, false);
      assert.equal(Buffer.from(body).toString(), text);
    } finally {
      await pool.close();
    }
  });

  test("refuses a job at once when the queue is full", async () => {
    const pool = new BodyPool({ workers: 1, maxQueued: 1 });
    try {
      // No thread is ready yet (it is still loading), so the first job waits in the queue.
      const first = pool.run(job('{"metadata":{"name":"a"}}'));
      assert.equal(pool.saturated(), true);
      await assert.rejects(pool.run(job('{"metadata":{"name":"b"}}')), BodyPoolSaturated);
      assert.equal((await first).verdict.ok, false);
      assert.equal(pool.saturated(), false);
    } finally {
      await pool.close();
    }
  });

  test("a job past its time ends its thread; the next job gets a new one", async () => {
    const pool = new BodyPool({ workers: 1, jobTimeoutMs: 500 });
    try {
      await assert.rejects(
        pool.run(heavy()),
        (e: unknown) => e instanceof BodyWorkerFailed && e.why === "timeout",
      );
      assert.equal((await pool.run(job("{"))).verdict.ok, false);
    } finally {
      await pool.close();
    }
  });

  test("close fails what waits and what runs", async () => {
    const pool = new BodyPool({ workers: 1 });
    const settled = Promise.allSettled([pool.run(heavy()), pool.run(job("{}"))]);
    await pool.close();
    for (const r of await settled) {
      assert.equal(r.status, "rejected");
      const e = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof BodyWorkerFailed && e.why === "closed", String(e));
    }
    await assert.rejects(pool.run(job("{}")), BodyWorkerFailed);
  });
});
