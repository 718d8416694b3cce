import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import dns from "node:dns";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { tcpExchange, udpExchange } from "./_client.ts";
import { fixtureView, query } from "./_fixtures.ts";
import { type FakeUpstream, startFakeUpstream } from "./_upstream.ts";
import { type DnsServer, startDnsServer } from "./server.ts";
import type { DnsView } from "./view.ts";
import { Rcode, RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";

const run = promisify(execFile);

async function hasDig(): Promise<boolean> {
  try {
    await run("dig", ["-v"]);
    return true;
  } catch {
    return false;
  }
}
const digMissing = (await hasDig())
  ? false
  : "dig is not installed (apt-get install bind9-dnsutils)";

function addBig(view: DnsView, n: number): void {
  view.upsertService({
    metadata: { name: "big", namespace: "testns" },
    spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] },
  });
  view.upsertEndpointSlice({
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
  });
}

describe("DNS server", () => {
  let server: DnsServer;
  let upstream: FakeUpstream;
  let port: number;
  const view = fixtureView();
  addBig(view, 300);

  before(async () => {
    upstream = await startFakeUpstream("127.0.0.53");
    server = await startDnsServer({
      view,
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [`${upstream.host}:${upstream.port}`], timeoutMs: 500 },
    });
    port = server.addresses[0]!.port;
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  it("reports one port that serves both UDP and TCP", async () => {
    assert.ok(port > 0);
    const q = encodeMessage(query("svc1.testns.svc.cluster.local", RRType.A)).bytes;
    const u = await udpExchange(q, port);
    const [t] = await tcpExchange([q], port);
    assert.ok(u && t);
    assert.deepEqual(decodeMessage(u).message.answers, decodeMessage(t!).message.answers);
  });

  it("resolves A, SRV, PTR and TXT for Node's resolver", async () => {
    const r = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    assert.deepEqual(await r.resolve4("svc1.testns.svc.cluster.local"), ["127.96.0.1"]);
    assert.deepEqual((await r.resolve4("hdls1.testns.svc.cluster.local")).sort(), [
      "127.244.0.2",
      "127.244.0.3",
      "127.244.0.4",
      "127.244.0.5",
    ]);
    assert.deepEqual(await r.resolve6("svc6.testns.svc.cluster.local"), ["1234:abcd::1"]);
    const srv = await r.resolveSrv("_http._tcp.web.testns.svc.cluster.local");
    assert.deepEqual(srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`).sort(), [
      "0 50 80 web-0.web.testns.svc.cluster.local",
      "0 50 80 web-1.web.testns.svc.cluster.local",
    ]);
    assert.deepEqual(await r.reverse("127.96.0.1"), ["svc1.testns.svc.cluster.local"]);
    assert.deepEqual(await r.resolveTxt("dns-version.cluster.local"), [["1.1.0"]]);
    await assert.rejects(r.resolve4("nope.testns.svc.cluster.local"), { code: "ENOTFOUND" });
    await assert.rejects(r.resolve6("svc1.testns.svc.cluster.local"), { code: "ENODATA" });
    assert.deepEqual(await r.resolve4("example.com"), ["192.0.2.1"], "forwarded");
  });

  it("sets TC over UDP for 300 endpoints and answers all of them over TCP", async () => {
    const q = encodeMessage(query("big.testns.svc.cluster.local", RRType.A)).bytes;
    const u = await udpExchange(q, port);
    assert.ok(u);
    const um = decodeMessage(u).message;
    assert.equal(um.header.tc, true);
    assert.ok(u.length <= 512);
    const [t] = await tcpExchange([q], port);
    const tm = decodeMessage(t!).message;
    assert.equal(tm.header.tc, false);
    assert.equal(tm.answers.length, 300);
    const srv = encodeMessage(query("_http._tcp.big.testns.svc.cluster.local", RRType.SRV)).bytes;
    const [s] = await tcpExchange([srv], port);
    const sm = decodeMessage(s!).message;
    assert.equal(sm.answers.length, 300);
    assert.equal(sm.additionals.length, 300);
  });

  it("answers several queries on one TCP connection sent a byte at a time", async () => {
    const qs = ["svc1", "svc6", "nope", "hdls1"].map((n, i) => {
      const m = query(`${n}.testns.svc.cluster.local`, RRType.A);
      m.header.id = 100 + i;
      return encodeMessage(m).bytes;
    });
    const answers = await tcpExchange(qs, port, { trickle: true });
    const byId = new Map(answers.map((a) => [a.readUInt16BE(0), decodeMessage(a).message]));
    assert.equal(byId.get(100)?.answers.length, 1);
    assert.equal(byId.get(101)?.header.rcode, Rcode.NOERROR);
    assert.equal(byId.get(102)?.header.rcode, Rcode.NXDOMAIN);
    assert.equal(byId.get(103)?.answers.length, 4);
  });

  it("forwards over UDP and retries over TCP when the upstream truncates", async () => {
    const before = upstream.tcpQueries;
    const q = encodeMessage(query("big.example.org", RRType.A)).bytes;
    const [t] = await tcpExchange([q], port);
    assert.equal(decodeMessage(t!).message.answers.length, 100);
    assert.equal(upstream.tcpQueries, before + 1);
    // Over UDP the 100 records do not fit 512 bytes: the client is sent to TCP.
    const u = await udpExchange(q, port);
    const um = decodeMessage(u!).message;
    assert.equal(um.header.tc, true);
  });

  it("follows an ExternalName target through the upstream", async () => {
    const q = encodeMessage(query("external.testns.svc.cluster.local", RRType.A)).bytes;
    const m = decodeMessage((await udpExchange(q, port))!).message;
    assert.deepEqual(
      m.answers.map((rr) => [rr.name, rr.type]),
      [
        ["external.testns.svc.cluster.local", RRType.CNAME],
        ["ext.interwebs.test", RRType.A],
      ],
    );
  });

  it("answers SERVFAIL when the upstream does not answer in time", async () => {
    const q = encodeMessage(query("silent.example.org", RRType.A)).bytes;
    const u = await udpExchange(q, port, { timeoutMs: 3000 });
    assert.equal(decodeMessage(u!).message.header.rcode, Rcode.SERVFAIL);
  });

  it("keeps answering after bad packets", async () => {
    const good = encodeMessage(query("svc1.testns.svc.cluster.local", RRType.A)).bytes;
    const loop = Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const formerr = await udpExchange(loop, port);
    assert.equal(formerr?.readUInt16BE(0), 0xabcd);
    assert.equal(formerr![3]! & 0xf, Rcode.FORMERR);
    assert.equal(
      await udpExchange(Buffer.from([1, 2, 3]), port, { timeoutMs: 300 }),
      null,
      "no header: dropped",
    );
    const two = encodeMessage(
      query("x", RRType.A, {
        questions: [
          { name: "svc1.testns.svc.cluster.local", type: 1, class: 1 },
          { name: "svc6.testns.svc.cluster.local", type: 1, class: 1 },
        ],
      }),
    ).bytes;
    assert.equal(
      decodeMessage((await udpExchange(two, port))!).message.header.rcode,
      Rcode.FORMERR,
    );
    const ch = encodeMessage(query("svc1.testns.svc.cluster.local", RRType.A, { klass: 3 })).bytes;
    assert.equal(decodeMessage((await udpExchange(ch, port))!).message.header.rcode, Rcode.REFUSED);
    const oversized = Buffer.concat([good, Buffer.alloc(3000)]);
    assert.equal((await udpExchange(oversized, port))![3]! & 0xf, Rcode.FORMERR);
    const [overTcp] = await tcpExchange([good], port);
    assert.equal(decodeMessage(overTcp!).message.answers.length, 1);
    assert.equal(decodeMessage((await udpExchange(good, port))!).message.answers.length, 1);
  });

  it("breaks a forwarding loop when the upstream is the server itself", async () => {
    const dgram = await import("node:dgram");
    // Find a free port, then start a server whose only upstream is that same address (another
    // test may grab the port in between: try again with a new one).
    let looped: DnsServer | undefined;
    let selfPort = 0;
    for (let attempt = 0; attempt < 10 && !looped; attempt++) {
      const probe = dgram.createSocket("udp4");
      await new Promise<void>((r) => probe.bind(0, "127.0.0.1", r));
      selfPort = probe.address().port;
      await new Promise<void>((r) => probe.close(() => r()));
      looped = await startDnsServer({
        view,
        clusterDomain: "cluster.local",
        listen: [{ host: "127.0.0.1", port: selfPort }],
        upstream: { servers: [`127.0.0.1:${selfPort}`], timeoutMs: 300 },
      }).catch(() => undefined);
    }
    assert.ok(looped, "a server on a port of its own");
    try {
      let handled = 0;
      const orig = looped.handler.handle;
      looped.handler.handle = (p, t) => {
        handled++;
        return orig(p, t);
      };
      const q = encodeMessage(query("loop.example.org", RRType.A)).bytes;
      const m = decodeMessage((await udpExchange(q, selfPort, { timeoutMs: 3000 }))!).message;
      assert.equal(m.header.rcode, Rcode.SERVFAIL);
      assert.equal(handled, 1, "the forwarded copy was dropped, not answered or forwarded again");
    } finally {
      await looped.close();
    }
  });

  it("closes idle TCP connections", async () => {
    const idle = await startDnsServer({
      view,
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [], timeoutMs: 100 },
      tcpIdleTimeoutMs: 100,
    });
    try {
      const net = await import("node:net");
      const sock = net.connect({ host: "127.0.0.1", port: idle.addresses[0]!.port });
      const closed = await new Promise<string>((resolve) => {
        const guard = setTimeout(() => resolve("still open after 5 s"), 5000);
        sock.on("close", () => {
          clearTimeout(guard);
          resolve("closed");
        });
        sock.on("error", () => {});
      });
      assert.equal(closed, "closed");
    } finally {
      await idle.close();
    }
  });

  it("answers dig over UDP, with +bufsize, and over TCP", { skip: digMissing }, async () => {
    const dig = async (...args: string[]) =>
      (await run("dig", ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args])).stdout;
    const a = await dig("+short", "svc1.testns.svc.cluster.local");
    assert.equal(a.trim(), "127.96.0.1");
    const trunc = await dig("+notcp", "+ignore", "+noedns", "big.testns.svc.cluster.local");
    assert.match(trunc, /flags: qr aa tc rd;/);
    assert.match(trunc, /MSG SIZE {2}rcvd: (\d+)/);
    assert.ok(Number(/MSG SIZE {2}rcvd: (\d+)/.exec(trunc)![1]) <= 512);
    const bufsize = await dig("+notcp", "+ignore", "+bufsize=1232", "big.testns.svc.cluster.local");
    const size = Number(/MSG SIZE {2}rcvd: (\d+)/.exec(bufsize)![1]);
    assert.ok(size > 512 && size <= 1232, `size ${size}`);
    const tcp = await dig("+tcp", "big.testns.svc.cluster.local");
    assert.match(tcp, /ANSWER: 300,/);
    const fallback = await dig("big.testns.svc.cluster.local");
    assert.match(fallback, /ANSWER: 300,/, "dig retries over TCP on TC");
    const srv = await dig("+short", "SRV", "_http._tcp.svc1.testns.svc.cluster.local");
    assert.equal(srv.trim(), "0 100 80 svc1.testns.svc.cluster.local.");
    const ptr = await dig("+short", "-x", "127.244.2.1");
    assert.equal(ptr.trim(), "web-0.web.testns.svc.cluster.local.");
    const nx = await dig("nope.testns.svc.cluster.local");
    assert.match(nx, /status: NXDOMAIN/);
    assert.match(
      nx,
      /cluster\.local\.\s+5\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5/,
    );
    const axfr = await dig("AXFR", "cluster.local");
    assert.match(axfr, /Transfer failed|REFUSED/);
  });
});
