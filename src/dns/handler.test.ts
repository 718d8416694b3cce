import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixtureView, query, sortedText } from "./_fixtures.ts";
import { createQueryHandler, type QueryHandler, type Transport } from "./handler.ts";
import { Rcode, RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";
import type { Message } from "./wire/message.ts";

async function ask(h: QueryHandler, q: Message, transport: Transport = "udp"): Promise<Message> {
  const out = await h.handle(encodeMessage(q).bytes, transport);
  assert.ok(out, "an answer");
  return decodeMessage(out).message;
}

function headless(n: number) {
  return {
    svc: {
      metadata: { name: "big", namespace: "testns" },
      spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] },
    },
    slice: {
      metadata: {
        name: "big-1",
        namespace: "testns",
        labels: { "kubernetes.io/service-name": "big" },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
      endpoints: Array.from({ length: n }, (_, i) => ({
        addresses: [`127.244.${10 + (i >> 8)}.${i & 255}`],
      })),
    },
  };
}

describe("query handler", () => {
  it("serves a cached answer with the new query's ID, RD bit and current serial", async () => {
    const view = fixtureView();
    const h = createQueryHandler(view, { clusterDomain: "cluster.local" });
    const q1 = query("svc0.testns.svc.cluster.local", RRType.A);
    const a1 = await ask(h, q1);
    assert.equal(h.cache.size, 1);
    const q2 = query("svc0.testns.svc.cluster.local", RRType.A, {
      header: { ...q1.header, id: 999, rd: false },
    });
    view.upsertNamespace({ metadata: { name: "other" } }); // bumps the serial, tags nothing cached
    const a2 = await ask(h, q2);
    assert.equal(h.cache.size, 1, "still cached");
    assert.equal(a2.header.id, 999);
    assert.equal(a2.header.rd, false);
    assert.equal(a1.header.rcode, Rcode.NXDOMAIN);
    const serial = (m: Message) => (m.authorities[0]?.type === 6 ? m.authorities[0].serial : -1);
    assert.equal(serial(a2), view.serial);
    assert.notEqual(serial(a1), serial(a2));
  });

  it("never serves a stale answer: service, slice and namespace changes drop what they affect", async () => {
    const view = fixtureView();
    const h = createQueryHandler(view, { clusterDomain: "cluster.local" });
    const q = query("late.testns.svc.cluster.local", RRType.A);
    assert.equal((await ask(h, q)).header.rcode, Rcode.NXDOMAIN);
    const svc = {
      metadata: { name: "late", namespace: "testns" },
      spec: { clusterIP: "None", ports: [{ port: 80 }] },
    };
    view.upsertService(svc);
    assert.equal((await ask(h, q)).header.rcode, Rcode.NXDOMAIN, "headless without endpoints");
    const slice = {
      metadata: {
        name: "late-1",
        namespace: "testns",
        labels: { "kubernetes.io/service-name": "late" },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["127.244.5.5"] }],
    };
    view.upsertEndpointSlice(slice);
    assert.deepEqual(sortedText((await ask(h, q)).answers), [
      "late.testns.svc.cluster.local. 5 IN A 127.244.5.5",
    ]);
    view.upsertEndpointSlice({
      ...slice,
      endpoints: [{ addresses: ["127.244.5.5"], conditions: { ready: false } }],
    });
    assert.equal((await ask(h, q)).header.rcode, Rcode.NXDOMAIN, "endpoint went unready");
    view.upsertEndpointSlice(slice);
    const ptr = query("5.5.244.127.in-addr.arpa", RRType.PTR);
    assert.equal((await ask(h, ptr)).answers.length, 1);
    view.deleteEndpointSlice(slice);
    assert.equal((await ask(h, ptr)).header.rcode, Rcode.NXDOMAIN, "PTR follows the slice");
    const nsq = query("svc1.testns.svc.cluster.local", RRType.A);
    assert.equal((await ask(h, nsq)).header.rcode, Rcode.NOERROR);
    view.deleteNamespace({ metadata: { name: "testns" } });
    assert.equal((await ask(h, nsq)).header.rcode, Rcode.NXDOMAIN, "namespace gone");
  });

  it("keeps the query's case in a cached answer for a differently cased query", async () => {
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    await ask(h, query("svc1.testns.svc.cluster.local", RRType.A));
    const a = await ask(h, query("SVC1.testns.svc.cluster.local", RRType.A));
    assert.equal(a.answers[0]?.name, "SVC1.testns.svc.cluster.local");
  });

  it("truncates over UDP to 512 bytes without EDNS, to the client's size with it, never over TCP", async () => {
    const view = fixtureView();
    const { svc, slice } = headless(300);
    view.upsertService(svc);
    view.upsertEndpointSlice(slice);
    const h = createQueryHandler(view, { clusterDomain: "cluster.local" });
    for (let round = 0; round < 2; round++) {
      const plain = await h.handle(
        encodeMessage(query("big.testns.svc.cluster.local", RRType.A)).bytes,
        "udp",
      );
      assert.ok(plain && plain.length <= 512);
      const m = decodeMessage(plain).message;
      assert.equal(m.header.tc, true);
      assert.ok(m.answers.length > 0 && m.answers.length < 300);
      const edns = query("big.testns.svc.cluster.local", RRType.A, {
        edns: { udpSize: 4096, version: 0, dnssecOk: false, options: [] },
      });
      const big = await h.handle(encodeMessage(edns).bytes, "udp");
      assert.ok(big && big.length <= 1232 && big.length > 512, `size ${big?.length}`);
      assert.equal(decodeMessage(big).message.header.tc, true);
      const full = await ask(h, query("big.testns.svc.cluster.local", RRType.A), "tcp");
      assert.equal(full.header.tc, false);
      assert.equal(full.answers.length, 300);
    }
  });

  it("answers FORMERR with the ID to a malformed query and drops what has no header or is a response", async () => {
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    const good = encodeMessage(query("svc1.testns.svc.cluster.local", RRType.A)).bytes;
    const cut = good.subarray(0, good.length - 3);
    const out = await h.handle(Buffer.from(cut), "udp");
    assert.ok(out);
    assert.equal(out.readUInt16BE(0), 0x1234);
    assert.equal(out[3]! & 0x0f, Rcode.FORMERR);
    assert.equal(out[2]! & 0x80, 0x80);
    assert.equal(await h.handle(Buffer.from([1, 2, 3]), "udp"), null);
    const response = Buffer.from(good);
    response[2] = response[2]! | 0x80;
    assert.equal(await h.handle(response, "udp"), null);
  });

  it("answers SERVFAIL for names outside the cluster when there is no upstream", async () => {
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    const a = await ask(h, query("example.com", RRType.A));
    assert.equal(a.header.rcode, Rcode.SERVFAIL);
  });

  it("forwards names outside the cluster zones and relays the upstream answer", async () => {
    const seen: Buffer[] = [];
    const h = createQueryHandler(fixtureView(), {
      clusterDomain: "cluster.local",
      forwarder: {
        async forward(q) {
          seen.push(q);
          const m = decodeMessage(q).message;
          m.header.qr = true;
          m.answers.push({
            name: m.questions[0]!.name,
            type: 1,
            class: 1,
            ttl: 60,
            address: "192.0.2.1",
          });
          return encodeMessage(m).bytes;
        },
        isOwnPort: () => false,
        close() {},
      },
    });
    const a = await ask(h, query("example.com", RRType.A));
    assert.equal(seen.length, 1);
    assert.deepEqual(sortedText(a.answers), ["example.com. 60 IN A 192.0.2.1"]);
    // The reverse zone of an address outside the cluster CIDRs is forwarded too.
    await ask(h, query("1.0.0.127.in-addr.arpa", RRType.PTR));
    assert.equal(seen.length, 2);
  });
});
