import assert from "node:assert/strict";
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../../_testing/index.ts";
import { PROMETHEUS_CONTENT_TYPE, PrometheusWriter } from "../../api/prometheus.ts";
import {
  instrumentRequests,
  instrumentUpgrades,
  REQUEST_DURATION_BUCKETS,
  RequestMetrics,
} from "./instrument.ts";
import { requestLabels } from "./requestlabels.ts";

function render(metrics: RequestMetrics): string {
  const w = new PrometheusWriter();
  metrics.write(w);
  return w.text();
}

function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

test("RequestMetrics writes kube's families with labels sorted by name", () => {
  let now = 0;
  const m = new RequestMetrics(() => now);
  const list = requestLabels({ method: "GET", url: "/api/v1/namespaces/default/pods" })!;
  m.record(list, 200, 0.003, 1500);
  m.record(list, 200, 0.03, 500);
  m.record(list, 500, 0.5, 100);
  const watch = requestLabels({ method: "GET", url: "/api/v1/pods?watch=1" })!;
  m.longRunningDelta(watch, 1);
  m.longRunningDelta(watch, 1);
  m.longRunningDelta(watch, -1);
  m.readOnly.add(1);
  m.readOnly.add(1);
  m.readOnly.add(-1);
  m.mutating.add(1);
  m.mutating.add(-1);
  now = 500;
  const text = render(m);
  const ls =
    'component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"';
  assert.equal(sampleValue(text, `apiserver_request_total{code="200",${ls}}`), 2);
  assert.equal(sampleValue(text, `apiserver_request_total{code="500",${ls}}`), 1);
  assert.equal(sampleValue(text, `apiserver_request_duration_seconds_bucket{${ls},le="0.005"}`), 1);
  assert.equal(sampleValue(text, `apiserver_request_duration_seconds_bucket{${ls},le="0.05"}`), 2);
  assert.equal(sampleValue(text, `apiserver_request_duration_seconds_bucket{${ls},le="+Inf"}`), 3);
  assert.equal(sampleValue(text, `apiserver_request_duration_seconds_count{${ls}}`), 3);
  assert.equal(sampleValue(text, `apiserver_request_duration_seconds_sum{${ls}}`), 0.533);
  const bucketLines = text
    .split("\n")
    .filter((l) => l.startsWith("apiserver_request_duration_seconds_bucket"));
  assert.equal(bucketLines.length, REQUEST_DURATION_BUCKETS.length + 1);
  const sizes = ls.replace('dry_run="",', "");
  assert.equal(sampleValue(text, `apiserver_response_sizes_bucket{${sizes},le="1000"}`), 2);
  assert.equal(sampleValue(text, `apiserver_response_sizes_bucket{${sizes},le="10000"}`), 3);
  assert.equal(sampleValue(text, `apiserver_response_sizes_bucket{${sizes},le="1e+09"}`), 3);
  assert.equal(
    sampleValue(
      text,
      'apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"}',
    ),
    1,
  );
  assert.equal(
    sampleValue(text, 'apiserver_current_inflight_requests{request_kind="readOnly"}'),
    2,
  );
  assert.equal(
    sampleValue(text, 'apiserver_current_inflight_requests{request_kind="mutating"}'),
    1,
  );
  assert.match(
    text,
    /^# HELP apiserver_request_total \[STABLE\] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code\.$/m,
  );
  assert.match(text, /^# TYPE apiserver_request_duration_seconds histogram$/m);
});

test("apiserver_current_inflight_requests forgets a peak two seconds later", () => {
  let now = 10_000;
  const m = new RequestMetrics(() => now);
  for (let i = 0; i < 5; i++) m.readOnly.add(1);
  for (let i = 0; i < 4; i++) m.readOnly.add(-1);
  assert.equal(m.readOnly.read(), 5);
  now += 1200;
  assert.equal(m.readOnly.read(), 5, "the previous second's peak still shows");
  now += 1200;
  assert.equal(m.readOnly.read(), 1, "then only what is in flight now");
  now += 5000;
  assert.equal(m.readOnly.read(), 1);
});

test("response sizes are kept for reads only", () => {
  const m = new RequestMetrics();
  m.record(requestLabels({ method: "POST", url: "/api/v1/namespaces/a/configmaps" })!, 201, 0.01);
  m.record(
    requestLabels({ method: "GET", url: "/api/v1/namespaces/a/configmaps/c" })!,
    200,
    0.01,
    300,
  );
  const text = render(m);
  assert.match(text, /apiserver_response_sizes_count\{[^}]*verb="GET"[^}]*\} 1/);
  assert.doesNotMatch(text, /apiserver_response_sizes_count\{[^}]*verb="POST"/);
});

describe("instrumentRequests around a handler", () => {
  let server: Server;
  let port: number;
  const metrics = new RequestMetrics();
  let release: (() => void) | undefined;
  const BODY = JSON.stringify({ items: "x".repeat(1500) });

  before(async () => {
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? "";
      if (url.includes("watch=1")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write('{"type":"ADDED"}\n');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        res.end();
        return;
      }
      if (url.endsWith("/missing")) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end('{"kind":"Status"}');
        return;
      }
      const body = BODY;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(body.slice(0, 100));
      res.end(body.slice(100));
    };
    server = createServer(
      instrumentRequests(handle, metrics, () => ({
        contentType: PROMETHEUS_CONTENT_TYPE,
        body: render(metrics),
      })),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, method = "GET") =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }),
        );
      });
      req.on("error", reject);
      req.end();
    });

  test("counts each request once it is answered, with its code and body size", async () => {
    await get("/api/v1/namespaces/a/configmaps");
    await get("/api/v1/namespaces/a/configmaps");
    await get("/api/v1/namespaces/a/configmaps/missing");
    await get("/version"); // not instrumented by kube-apiserver
    const page = await get("/metrics");
    assert.equal(page.status, 200);
    assert.equal(page.type, PROMETHEUS_CONTENT_TYPE);
    const list =
      'component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"';
    assert.equal(sampleValue(page.body, `apiserver_request_total{code="200",${list}}`), 2);
    const get404 =
      'code="404",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"';
    assert.equal(sampleValue(page.body, `apiserver_request_total{${get404}}`), 1);
    const sizes = list.replace('dry_run="",', "");
    assert.equal(sampleValue(page.body, `apiserver_response_sizes_sum{${sizes}}`), 2 * BODY.length);
    assert.doesNotMatch(page.body, /\/version|resource="version"/);
    assert.ok(
      (sampleValue(page.body, 'apiserver_current_inflight_requests{request_kind="readOnly"}') ??
        0) >= 1,
      "the scrape itself is in flight",
    );
  });

  test("a watch is long-running while open and counted when it ends", async () => {
    const watching = get("/api/v1/namespaces/a/pods?watch=1");
    const gauge =
      'apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"}';
    const total =
      'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"}';
    await waitFor(() => release !== undefined, { what: "the watch to be served" });
    const during = (await get("/metrics")).body;
    assert.equal(sampleValue(during, gauge), 1);
    assert.equal(sampleValue(during, total), undefined);
    release?.();
    await watching;
    // The response's close event follows its end; wait for the count rather than a fixed time.
    const afterText = await waitFor(
      async () => {
        const body = (await get("/metrics")).body;
        return sampleValue(body, total) === 1 && body;
      },
      { what: "the watch to be counted" },
    );
    assert.equal(sampleValue(afterText, gauge), 0);
    assert.equal(sampleValue(afterText, total), 1);
    const sizes = gauge.replace("apiserver_longrunning_requests{", "apiserver_response_sizes_sum{");
    assert.equal(
      sampleValue(afterText, sizes),
      '{"type":"ADDED"}\n'.length,
      "a watch's bytes, as kube",
    );
  });

  test("/metrics answers HEAD without a body and refuses other methods", async () => {
    const head = await get("/metrics", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    const post = await get("/metrics", "POST");
    assert.equal(post.status, 405);
    assert.match(post.body, /"reason":"MethodNotAllowed"/);
  });
});

test("instrumentUpgrades keeps an exec stream long-running and counts it with its status line", async () => {
  const metrics = new RequestMetrics();
  let hangUp: (() => void) | undefined;
  const server = createServer();
  server.on(
    "upgrade",
    instrumentUpgrades(async (_req, socket) => {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\nConnection: Upgrade\r\n\r\n",
      );
      socket.write("stream bytes");
      hangUp = () => socket.end();
    }, metrics),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const upgraded = new Promise<import("node:net").Socket>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true",
        headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1" },
      });
      req.on("upgrade", (res, socket) => {
        assert.equal(res.statusCode, 101);
        resolve(socket);
      });
      req.on("error", reject);
      req.end();
    });
    const socket = await upgraded;
    const labels =
      'component="apiserver",group="",resource="pods",scope="resource",subresource="exec",verb="CONNECT",version="v1"';
    assert.equal(sampleValue(render(metrics), `apiserver_longrunning_requests{${labels}}`), 1);
    const closed = new Promise((resolve) => socket.once("close", resolve));
    hangUp?.();
    socket.end();
    await closed;
    const page = await waitFor(
      () => {
        const text = render(metrics);
        return sampleValue(text, `apiserver_longrunning_requests{${labels}}`) === 0 && text;
      },
      { what: "the exec stream to stop being long-running" },
    );
    assert.equal(sampleValue(page, `apiserver_longrunning_requests{${labels}}`), 0);
    const total = labels.replace('group=""', 'dry_run="",group=""');
    assert.equal(sampleValue(page, `apiserver_request_total{code="101",${total}}`), 1);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
