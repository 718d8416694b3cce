import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import { query } from "./_fixtures.ts";
import { type FakeUpstream, startFakeUpstream } from "./_upstream.ts";
import {
  createForwarder,
  parseServer,
  resolverFromForwarder,
  serversFromResolvConf,
} from "./forward.ts";
import { RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";

describe("forwarder", () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream("127.0.0.54");
  });
  after(async () => {
    await upstream.close();
  });

  it("reads nameservers from resolv.conf and skips our own listeners", () => {
    const conf =
      "# comment\nsearch svc.cluster.local\nnameserver 127.0.0.1\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\noptions ndots:5\n";
    assert.deepEqual(serversFromResolvConf(conf, [{ host: "127.0.0.1", port: 53 }]), [
      "127.0.0.53",
      "fe80::1",
    ]);
    assert.deepEqual(serversFromResolvConf(conf, [{ host: "127.0.0.1", port: 5353 }]), [
      "127.0.0.1",
      "127.0.0.53",
      "fe80::1",
    ]);
    assert.deepEqual(serversFromResolvConf(conf, [{ host: "0.0.0.0", port: 53 }]), []);
  });

  it("parses server addresses with and without ports", () => {
    assert.deepEqual(parseServer("127.0.0.53"), { host: "127.0.0.53", port: 53 });
    assert.deepEqual(parseServer("127.0.0.53:5353"), { host: "127.0.0.53", port: 5353 });
    assert.deepEqual(parseServer("::1"), { host: "::1", port: 53 });
    assert.deepEqual(parseServer("[::1]:5353"), { host: "::1", port: 5353 });
  });

  it("relays the upstream answer with the client's ID", async () => {
    const f = createForwarder({ servers: [`${upstream.host}:${upstream.port}`], timeoutMs: 1000 });
    try {
      const q = query("example.org", RRType.A);
      q.header.id = 4242;
      const res = decodeMessage(await f.forward(encodeMessage(q).bytes)).message;
      assert.equal(res.header.id, 4242);
      assert.equal(res.answers.length, 1);
    } finally {
      f.close();
    }
  });

  it("retries over TCP when the UDP answer is truncated", async () => {
    const f = createForwarder({ servers: [`${upstream.host}:${upstream.port}`], timeoutMs: 1000 });
    try {
      const tcpBefore = upstream.tcpQueries;
      const res = decodeMessage(
        await f.forward(encodeMessage(query("big.example.org", RRType.A)).bytes),
      ).message;
      assert.equal(res.header.tc, false);
      assert.equal(res.answers.length, 100);
      assert.equal(upstream.tcpQueries, tcpBefore + 1);
    } finally {
      f.close();
    }
  });

  it("tries the next server when one times out, and rejects when none answers", async () => {
    const dead = dgram.createSocket("udp4");
    await new Promise<void>((r) => dead.bind(0, "127.0.0.55", r));
    const deadAddr = `127.0.0.55:${dead.address().port}`;
    const f = createForwarder({
      servers: [deadAddr, `${upstream.host}:${upstream.port}`],
      timeoutMs: 200,
    });
    const g = createForwarder({ servers: [deadAddr], timeoutMs: 200 });
    try {
      const res = decodeMessage(
        await f.forward(encodeMessage(query("example.org", RRType.A)).bytes),
      ).message;
      assert.equal(res.answers.length, 1);
      await assert.rejects(g.forward(encodeMessage(query("example.org", RRType.A)).bytes), {
        name: "ForwardError",
      });
    } finally {
      f.close();
      g.close();
      dead.close();
    }
  });

  it("ignores a response from an address it did not ask", async () => {
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.56", r));
    const spoofer = dgram.createSocket("udp4");
    await new Promise<void>((r) => spoofer.bind(0, "127.0.0.57", r));
    silent.on("message", (m, rinfo) => {
      // Answer from a different address than the one queried.
      const out = decodeMessage(m).message;
      out.header.qr = true;
      out.answers.push({
        name: out.questions[0]!.name,
        type: 1,
        class: 1,
        ttl: 1,
        address: "203.0.113.66",
      });
      spoofer.send(encodeMessage(out).bytes, rinfo.port, rinfo.address);
    });
    const f = createForwarder({ servers: [`127.0.0.56:${silent.address().port}`], timeoutMs: 300 });
    try {
      await assert.rejects(f.forward(encodeMessage(query("example.org", RRType.A)).bytes));
    } finally {
      f.close();
      silent.close();
      spoofer.close();
    }
  });

  it("resolves ExternalName targets through the upstream", async () => {
    const f = createForwarder({ servers: [`${upstream.host}:${upstream.port}`], timeoutMs: 1000 });
    try {
      const rrs = await resolverFromForwarder(f)("ext.example.org", RRType.A);
      assert.deepEqual(rrs, [
        { name: "ext.example.org", type: 1, class: 1, ttl: 60, address: "192.0.2.1" },
      ]);
    } finally {
      f.close();
    }
  });
});
