import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { PrometheusWriter } from "../api/prometheus.ts";
import { fixtureView, query } from "./_fixtures.ts";
import { createQueryHandler, type QueryHandler, type Transport } from "./handler.ts";
import { DNS_DURATION_BUCKETS, DnsMetrics, Plugin } from "./metrics.ts";
import { startDnsMetricsServer } from "./metricsserver.ts";
import { startDnsServer } from "./server.ts";
import { Rcode, RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";
import type { Message } from "./wire/message.ts";

function text(h: QueryHandler): string {
  const w = new PrometheusWriter();
  h.metrics.write(w, h.cache.types);
  return w.text();
}

/** The value of one series, given its labels in the order they are written (sorted by name). */
function value(page: string, series: string): number {
  for (const line of page.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

async function ask(h: QueryHandler, q: Message, transport: Transport = "udp"): Promise<Message> {
  const out = await h.handle(encodeMessage(q).bytes, transport);
  assert.ok(out, "an answer");
  return decodeMessage(out).message;
}

const S = 'server="dns://:53"';
const requests = (proto: string, type: string) =>
  `coredns_dns_requests_total{family="1",proto="${proto}",${S},type="${type}",view="",zone="."}`;
const responses = (plugin: string, rcode: string) =>
  `coredns_dns_responses_total{plugin="${plugin}",rcode="${rcode}",${S},view="",zone="."}`;
const cache = (name: string, type?: string) =>
  `coredns_cache_${name}{${S},${type ? `type="${type}",` : ""}view="",zones="."}`;

describe("DNS metrics", () => {
  it("count requests by transport and type, responses by rcode and who answered, and the cache", async () => {
    const h = createQueryHandler(fixtureView(), { clusterDomain: "cluster.local" });
    const a = query("svc1.testns.svc.cluster.local", RRType.A);
    assert.equal((await ask(h, a)).header.rcode, Rcode.NOERROR); // computed, then cached
    await ask(h, a); // fast path
    await ask(h, a, "tcp"); // fast path over TCP
    const missing = query("nope.testns.svc.cluster.local", RRType.A);
    assert.equal((await ask(h, missing)).header.rcode, Rcode.NXDOMAIN);
    await ask(h, missing);
    await ask(h, query("_http._tcp.svc1.testns.svc.cluster.local", RRType.SRV));
    await ask(h, query("svc1.testns.svc.cluster.local", 99)); // SPF: reported as "other"
    await ask(h, query("example.com", RRType.A)); // no upstream: the server's SERVFAIL
    const page = text(h);
    assert.equal(value(page, requests("udp", "A")), 5);
    assert.equal(value(page, requests("tcp", "A")), 1);
    assert.equal(value(page, requests("udp", "SRV")), 1);
    assert.equal(value(page, requests("udp", "other")), 1);
    assert.equal(value(page, responses("kubernetes", "NOERROR")), 3);
    assert.equal(value(page, responses("cache", "NOERROR")), 2);
    assert.equal(value(page, responses("kubernetes", "NXDOMAIN")), 1);
    assert.equal(value(page, responses("cache", "NXDOMAIN")), 1);
    assert.equal(value(page, responses("", "SERVFAIL")), 1);
    assert.equal(value(page, cache("hits_total", "success")), 2);
    assert.equal(value(page, cache("hits_total", "denial")), 1);
    assert.equal(value(page, cache("misses_total")), 5);
    assert.equal(value(page, cache("requests_total")), 8);
    assert.equal(value(page, cache("entries", "success")), 2, "A and SRV");
    assert.equal(value(page, cache("entries", "denial")), 2, "NXDOMAIN, and no record of type 99");
    const base = `${S},view="",zone="."`;
    assert.equal(value(page, `coredns_dns_request_duration_seconds_count{${base}}`), 8);
    assert.equal(value(page, `coredns_dns_request_duration_seconds_bucket{${base},le="+Inf"}`), 8);
    assert.equal(
      page.split("\n").filter((l) => l.startsWith("coredns_dns_request_duration_seconds_bucket"))
        .length,
      DNS_DURATION_BUCKETS.length + 1,
    );
    assert.equal(value(page, `coredns_dns_response_size_bytes_count{proto="tcp",${base}}`), 1);
    assert.equal(value(page, `coredns_dns_request_size_bytes_count{proto="udp",${base}}`), 7);
    assert.match(page, /^# HELP coredns_dns_responses_total Counter of response status codes\.$/m);
  });

  it("name the upstream's answers forward and count queries the server drops not at all", async () => {
    const h = createQueryHandler(fixtureView(), {
      clusterDomain: "cluster.local",
      forwarder: {
        async forward(q) {
          const m = decodeMessage(q).message;
          m.header.qr = true;
          m.header.rcode = Rcode.NXDOMAIN;
          return encodeMessage(m).bytes;
        },
        isOwnPort: () => false,
        close() {},
      },
    });
    await ask(h, query("nothing.example", RRType.AAAA));
    assert.equal(await h.handle(Buffer.alloc(5), "udp"), null);
    const response = encodeMessage({
      ...query("x.example", 1),
      header: { ...query("x", 1).header, qr: true },
    }).bytes;
    assert.equal(await h.handle(response, "udp"), null);
    const page = text(h);
    assert.equal(value(page, requests("udp", "AAAA")), 1);
    assert.equal(value(page, responses("forward", "NXDOMAIN")), 1);
    assert.equal(
      value(page, `coredns_dns_request_duration_seconds_count{${S},view="",zone="."}`),
      1,
    );
  });

  it("name a rare extended rcode as CoreDNS does", () => {
    const m = new DnsMetrics();
    m.answered(0, 1, 16, Plugin.kubernetes, 40, 40, performance.now());
    m.answered(0, 1, 3841, Plugin.server, 40, 40, performance.now());
    const w = new PrometheusWriter();
    m.write(w, { success: 0, denial: 0 });
    const page = w.text();
    assert.equal(value(page, responses("kubernetes", "BADSIG")), 1);
    assert.equal(value(page, responses("", "RCODE3841")), 1);
  });

  it("are served over HTTP with the server label of the bound address", async () => {
    const dns = await startDnsServer({
      view: fixtureView(),
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [], timeoutMs: 100 },
    });
    const metrics = await startDnsMetricsServer({
      host: "127.0.0.1",
      port: 0,
      servers: () => [dns],
    });
    try {
      assert.match(metrics.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      await dns.handler.handle(
        encodeMessage(query("svc1.testns.svc.cluster.local", 1)).bytes,
        "udp",
      );
      const get = (path: string, method = "GET") =>
        new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
          const url = new URL(path, metrics.url);
          const req = request(url, { method }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              body += c;
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                type: String(res.headers["content-type"]),
                body,
              }),
            );
          });
          req.on("error", reject);
          req.end();
        });
      const page = await get("/metrics");
      assert.equal(page.status, 200);
      assert.equal(page.type, "text/plain; version=0.0.4; charset=utf-8");
      const port = dns.addresses[0]!.port;
      const series = `coredns_dns_requests_total{family="1",proto="udp",server="dns://127.0.0.1:${port}",type="A",view="",zone="."}`;
      assert.equal(value(page.body, series), 1);
      assert.match(
        page.body,
        /^coredns_build_info\{goversion="node[^"]+",revision="",version="loopkube-[^"]+"\} 1$/m,
      );
      assert.match(page.body, /^process_resident_memory_bytes \S+$/m);
      assert.equal((await get("/other")).status, 404);
      assert.equal((await get("/metrics", "POST")).status, 405);
    } finally {
      await metrics.close();
      await dns.close();
    }
  });
});
