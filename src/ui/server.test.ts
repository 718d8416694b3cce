import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { fixtureView } from "../dns/_fixtures.ts";
import { type DnsServer, startDnsServer } from "../dns/index.ts";
import type { Feed } from "./feed.ts";
import type { Snapshot } from "./protocol.ts";
import { startWebServer, type WebServer } from "./server.ts";

const TOKEN = "a".repeat(48);
const SNAPSHOT: Snapshot = {
  clusterDomain: "cluster.local",
  services: [],
  queries: [],
  traffic: [],
  windowSeconds: 60,
};

/** A feed with a fixed snapshot and no changes: what the server does with it is under test. */
const feed: Feed = {
  subscribe(listener) {
    listener({ snapshot: SNAPSHOT });
    return () => {};
  },
  events: (kind, namespace, name) => [
    {
      type: "Normal",
      reason: `${kind}/${namespace}/${name}`,
      last: 1,
      first: 1,
      count: 1,
      from: "x",
      message: "m",
    },
  ],
  services: () => [],
  stop: () => {},
};

describe("the web view's server", () => {
  let dns: DnsServer;
  let web: WebServer;
  let base: string;
  before(async () => {
    dns = await startDnsServer({
      view: fixtureView(),
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [], timeoutMs: 100 },
    });
    web = await startWebServer({
      feed,
      token: TOKEN,
      host: "127.0.0.1",
      port: 0,
      dns: dns.addresses[0]!,
      bearerTokens: ["cluster-admin-token"],
    });
    base = `http://127.0.0.1:${web.port}`;
  });
  after(async () => {
    await web.close();
    await dns.close();
  });

  it("refuses a request without the token, and takes it from the URL, a cookie or a bearer", async () => {
    assert.equal((await fetch(`${base}/`)).status, 401);
    assert.equal((await fetch(`${base}/?token=wrong`)).status, 401);
    const first = await fetch(`${base}/?token=${TOKEN}`);
    assert.equal(first.status, 200);
    const cookie = first.headers.get("set-cookie") ?? "";
    assert.match(
      cookie,
      new RegExp(`^loopkube_ui_${web.port}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`),
    );
    const viaCookie = await fetch(`${base}/api/events?kind=Pod&namespace=ns&name=p`, {
      headers: { cookie: cookie.split(";")[0]! },
    });
    assert.equal(viaCookie.status, 200);
    assert.equal(((await viaCookie.json()) as Array<{ reason: string }>)[0]?.reason, "Pod/ns/p");
    const viaBearer = await fetch(`${base}/api/events`, {
      headers: { authorization: "Bearer cluster-admin-token" },
    });
    assert.equal(viaBearer.status, 200);
  });

  it("is read-only and answers only its own host name (no DNS rebinding)", async () => {
    assert.equal((await fetch(`${base}/?token=${TOKEN}`, { method: "POST" })).status, 405);
    // fetch() cannot set Host; node:http can, as a rebound page's browser would send it.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: web.port,
          path: `/?token=${TOKEN}`,
          headers: { host: "evil.example:80" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 421);
  });

  it("refuses to listen beyond loopback", async () => {
    await assert.rejects(
      startWebServer({ feed, token: TOKEN, host: "0.0.0.0", port: 0, dns: dns.addresses[0]! }),
      /loopback only/,
    );
  });

  it("streams the snapshot as a server-sent event", async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/stream?token=${TOKEN}`, { signal: ac.signal });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: snapshot\ndata: ")) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    assert.match(text, /event: snapshot\ndata: \{"clusterDomain":"cluster.local"/);
  });

  it("asks the DNS for real and prints the answer as dig does", async () => {
    const res = await fetch(
      `${base}/api/dns?token=${TOKEN}&name=svc1.testns.svc.cluster.local&type=A`,
    );
    const a = (await res.json()) as { text: string; aa: boolean; answers: unknown[] };
    assert.equal(a.aa, true);
    assert.deepEqual(a.answers, [
      { name: "svc1.testns.svc.cluster.local", ttl: 5, type: "A", data: "127.96.0.1" },
    ]);
    assert.match(a.text, /status: NOERROR/);
    assert.match(a.text, /;; flags: qr aa rd; QUERY: 1, ANSWER: 1,/);
    assert.match(
      a.text,
      /\n;; ANSWER SECTION:\nsvc1\.testns\.svc\.cluster\.local\.\t\t5\tIN\tA\t127\.96\.0\.1$/,
    );
    const bad = await fetch(`${base}/api/dns?token=${TOKEN}&name=x&type=NOPE`);
    assert.equal(bad.status, 400);
  });
});
