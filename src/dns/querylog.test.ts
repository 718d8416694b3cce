import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixtureView, query } from "./_fixtures.ts";
import { createQueryHandler } from "./handler.ts";
import { QueryLog } from "./querylog.ts";
import { Rcode, RRType } from "./wire/constants.ts";
import { encodeMessage } from "./wire/encode.ts";

function answerBytes(name: string, type: number, rcode = 0, answers = 0): Buffer {
  const q = query(name, type);
  const m = {
    ...q,
    header: { ...q.header, qr: true, rcode },
    answers: Array.from({ length: answers }, (_, i) => ({
      name,
      class: 1,
      ttl: 5,
      type: 1 as const,
      address: `127.0.0.${i + 1}`,
    })),
  };
  return Buffer.from(encodeMessage(m).bytes);
}

describe("QueryLog", () => {
  it("reads back name, type, rcode, answer count and latency of each answer, oldest first", () => {
    const log = new QueryLog(10, () => 1000);
    log.record(answerBytes("a.ns.svc.cluster.local", RRType.A, 0, 3), 0.5);
    log.record(answerBytes("b.ns.svc.cluster.local", RRType.SRV, Rcode.NXDOMAIN), 1.25);
    assert.deepEqual(log.since(0), [
      {
        seq: 1,
        at: 1000,
        name: "a.ns.svc.cluster.local",
        type: 1,
        rcode: 0,
        answers: 3,
        latencyMs: 0.5,
      },
      {
        seq: 2,
        at: 1000,
        name: "b.ns.svc.cluster.local",
        type: 33,
        rcode: 3,
        answers: 0,
        latencyMs: 1.25,
      },
    ]);
    assert.deepEqual(
      log.since(1).map((e) => e.name),
      ["b.ns.svc.cluster.local"],
    );
    assert.deepEqual(log.since(2), []);
  });

  it("keeps only the newest entries once full, and since() never returns an overwritten one", () => {
    const log = new QueryLog(3);
    for (let i = 1; i <= 7; i++) log.record(answerBytes(`n${i}.x`, RRType.A), 0);
    assert.equal(log.seq, 7);
    assert.deepEqual(
      log.since(0).map((e) => e.name),
      ["n5.x", "n6.x", "n7.x"],
    );
    assert.deepEqual(
      log.since(5).map((e) => e.seq),
      [6, 7],
    );
    assert.deepEqual(
      log.since(0, 1).map((e) => e.name),
      ["n7.x"],
    );
  });
});

describe("createQueryHandler's queryLog", () => {
  it("records every answered query, from the view and from the cache alike", async () => {
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    const q = encodeMessage(query("svc0.testns.svc.cluster.local", RRType.A)).bytes;
    await h.handle(Buffer.from(q), "udp");
    await h.handle(Buffer.from(q), "udp");
    const entries = h.queryLog.since(0);
    assert.equal(entries.length, 2);
    for (const e of entries) {
      assert.equal(e.name, "svc0.testns.svc.cluster.local");
      assert.equal(e.type, RRType.A);
      assert.ok(e.latencyMs >= 0);
    }
    h.close();
  });
});
