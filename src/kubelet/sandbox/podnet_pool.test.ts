import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LongLivedHelper } from "./podnet_longlived.ts";
import { helperPool } from "./podnet_pool.ts";

/** A member that records its requests and answers them when told. */
function member(id: number) {
  const got: string[] = [];
  const waiting: (() => void)[] = [];
  let why: string | undefined;
  const helper: LongLivedHelper<string> = {
    run(req) {
      got.push(req);
      return new Promise((r) => waiting.push(r));
    },
    pid: () => 1000 + id,
    broken: () => why,
    close: async () => {},
  };
  return {
    helper,
    got,
    answerAll: () => {
      for (const w of waiting.splice(0)) w();
    },
    breakWith: (w: string) => {
      why = w;
    },
  };
}

describe("helperPool", () => {
  test("requests one at a time keep to the first member; a burst is spread over all", async () => {
    const ms = [member(0), member(1)];
    let i = 0;
    const pool = helperPool(2, () => (ms[i++] as (typeof ms)[number]).helper);
    for (const req of ["a", "b"]) {
      const done = pool.run(req);
      ms[0]?.answerAll();
      await done;
    }
    assert.deepEqual(ms[0]?.got, ["a", "b"]);
    assert.deepEqual(ms[1]?.got, []);
    const burst = ["c", "d", "e", "f"].map((r) => pool.run(r));
    assert.deepEqual(ms[0]?.got, ["a", "b", "c", "e"]);
    assert.deepEqual(ms[1]?.got, ["d", "f"]);
    for (const m of ms) m.answerAll();
    await Promise.all(burst);
    assert.equal(pool.pid(), 1000);
  });

  test("is broken when a member is, saying why", () => {
    const ms = [member(0), member(1)];
    let i = 0;
    const pool = helperPool(2, () => (ms[i++] as (typeof ms)[number]).helper);
    assert.equal(pool.broken(), undefined);
    ms[1]?.breakWith("perl helper died 3 times");
    assert.equal(pool.broken(), "perl helper died 3 times");
  });
});
