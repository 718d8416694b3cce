import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { udpExchange } from "./_client.ts";
import { fixtureView, query } from "./_fixtures.ts";
import { createQueryHandler } from "./handler.ts";
import { startDnsServer } from "./server.ts";
import { RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";

/** xorshift32: the same packets on every run, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const names = [
  "svc1.testns.svc.cluster.local",
  "_http._tcp.hdls1.testns.svc.cluster.local",
  "dup-name.hdls1.testns.svc.cluster.local",
  "external-to-service.testns.svc.cluster.local",
  "127-244-9-9.testns.pod.cluster.local",
  "1.0.96.127.in-addr.arpa",
  "dns-version.cluster.local",
  "cluster.local",
  "example.com",
];
const types = [
  RRType.A,
  RRType.AAAA,
  RRType.SRV,
  RRType.PTR,
  RRType.TXT,
  RRType.SOA,
  RRType.NS,
  RRType.CNAME,
  13,
  255,
];

function corpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const n of names) {
    for (const t of types) {
      out.push(encodeMessage(query(n, t)).bytes);
      out.push(
        encodeMessage(
          query(n, t, { edns: { udpSize: 1232, version: 0, dnssecOk: false, options: [] } }),
        ).bytes,
      );
    }
  }
  return out;
}

function mutate(base: Buffer, r: () => number): Buffer {
  const b = Buffer.from(base);
  switch (Math.floor(r() * 6)) {
    case 0: {
      const flips = 1 + Math.floor(r() * 4);
      for (let i = 0; i < flips; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    }
    case 1:
      return b.subarray(0, Math.floor(r() * b.length));
    case 2: {
      const at = Math.floor(r() * b.length);
      const extra = Buffer.from(
        Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256)),
      );
      return Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    }
    case 3: {
      // Section counts are where decoders go wrong.
      b[4 + Math.floor(r() * 8)] = Math.floor(r() * 256);
      return b;
    }
    case 4: {
      // A compression pointer somewhere in the name.
      const at = 12 + Math.floor(r() * Math.max(1, b.length - 14));
      b[at] = 0xc0 | Math.floor(r() * 64);
      b[at + 1] = Math.floor(r() * 256);
      return b;
    }
    default:
      return Buffer.from(
        Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)),
      );
  }
}

function checkAnswer(packet: Buffer, out: Buffer | null): void {
  if (out === null) return;
  assert.ok(out.length >= 12);
  assert.equal(out.readUInt16BE(0), packet.readUInt16BE(0), "answer carries the query ID");
  assert.equal(out[2]! & 0x80, 0x80, "QR set");
  decodeMessage(out); // every answer we send must itself be well-formed
}

describe("fuzzing", () => {
  it("survives 100,000 random and mutated packets through decoder and answerer", async () => {
    const r = rng(0xdecade);
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    const seeds = corpus();
    let answered = 0;
    for (let i = 0; i < 100_000; i++) {
      const packet = mutate(seeds[Math.floor(r() * seeds.length)]!, r);
      let out = h.handle(packet, r() < 0.5 ? "udp" : "tcp");
      if (out instanceof Promise) out = await out;
      checkAnswer(packet, out);
      if (out) answered++;
    }
    assert.ok(answered > 10_000, `answered ${answered}`);
  });

  it("keeps serving through 3,000 hostile packets over a real UDP socket", async () => {
    const r = rng(42);
    const server = await startDnsServer({
      view: fixtureView(),
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [], timeoutMs: 100 },
    });
    try {
      const port = server.addresses[0]!.port;
      const seeds = corpus();
      const dgram = await import("node:dgram");
      const sock = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
      let received = 0;
      sock.on("message", () => received++);
      for (let i = 0; i < 3000; i++) {
        const packet = mutate(seeds[Math.floor(r() * seeds.length)]!, r);
        await new Promise<void>((resolve) => sock.send(packet, port, "127.0.0.1", () => resolve()));
        // Client and server share this process: pause so the server drains its socket buffer
        // (about 256 datagrams) instead of the kernel dropping the rest.
        if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const good = encodeMessage(query("svc1.testns.svc.cluster.local", RRType.A)).bytes;
      let reply: Buffer | null = null;
      for (let attempt = 0; attempt < 3 && !reply; attempt++)
        reply = await udpExchange(good, port, { timeoutMs: 1000 });
      assert.ok(reply, "still answering");
      assert.equal(decodeMessage(reply).message.answers.length, 1);
      sock.close();
      assert.ok(received > 1000, `received ${received} answers`);
    } finally {
      await server.close();
    }
  });
});
