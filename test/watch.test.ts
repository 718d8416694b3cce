/**
 * Watches over HTTP as any client reads them: raw HTTPS against a real API server. A replay larger
 * than any buffer streams at the client's pace; a watcher cut for slowness ends cleanly after
 * whole events and resumes from the last one it got (or gets 410 Expired and re-lists).
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const CM_REF = { group: "", version: "v1", resource: "configmaps" };

interface WatchLine {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    message?: string;
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  };
}

interface Stream {
  status: number;
  res: IncomingMessage;
  /** Every line read so far, parsed. */
  events: WatchLine[];
  /** Bytes after the last newline (a cut mid-event leaves some). */
  rest(): string;
  /** Resolves when the response ends (cleanly or not): true when it ended cleanly. */
  ended: Promise<boolean>;
}

function open(api: TestApiServer, path: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, api.server.url), {
      ca: api.pki.caCert,
      cert: api.pki.adminCert,
      key: api.pki.adminKey,
    });
    req.on("response", (res) => {
      let buffer = "";
      const events: WatchLine[] = [];
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        // Only the new chunk is searched: a line may be megabytes long.
        let nl = chunk.indexOf("\n");
        while (nl >= 0) {
          events.push(JSON.parse(buffer + chunk.slice(0, nl)) as WatchLine);
          buffer = "";
          chunk = chunk.slice(nl + 1);
          nl = chunk.indexOf("\n");
        }
        buffer += chunk;
      });
      const ended = new Promise<boolean>((done) => {
        res.on("end", () => done(true));
        res.on("aborted", () => done(false));
        res.on("error", () => done(false));
      });
      resolve({ status: res.statusCode ?? 0, res, events, rest: () => buffer, ended });
    });
    req.on("error", reject);
    req.end();
  });
}

function post(api: TestApiServer, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, api.server.url), {
      method: "POST",
      ca: api.pki.caCert,
      cert: api.pki.adminCert,
      key: api.pki.adminKey,
      headers: { "Content-Type": "application/json" },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** Waits for `check` on a stream's events; fails at once if the stream ends first. */
async function until(w: Stream, check: () => boolean, what: string): Promise<void> {
  let ended = false;
  void w.ended.then(() => {
    ended = true;
  });
  await waitFor(() => check() || ended, what);
  assert.ok(check(), `the watch ended before ${what} (${w.events.length} events)`);
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("watch over HTTP", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  // apimachinery's conversion: false only for "0" and "false" in any case, true for anything else.
  for (const [flag, streams] of [
    ["true", true],
    ["True", true],
    ["1", true],
    ["", true],
    ["false", false],
    ["False", false],
    ["0", false],
  ] as const) {
    test(`watch=${flag} ${streams ? "streams events" : "answers a list"}`, async () => {
      const w = await open(api, `${CM}?watch=${flag}&timeoutSeconds=1`);
      assert.equal(w.status, 200);
      const ended = await w.ended;
      assert.ok(ended);
      if (streams) {
        assert.equal(w.rest(), "", "every line is a whole event");
        assert.ok(w.events.every((e) => e.type === "ADDED"));
      } else {
        assert.equal(w.events.length, 0);
        assert.equal((JSON.parse(w.rest()) as { kind: string }).kind, "ConfigMapList");
      }
    });
  }

  test("a watch whose replay is larger than 16 MiB delivers every event", async () => {
    const rv = api.server.registry.ctx.store.revision();
    // 20 ConfigMaps of 900 KiB each: 18 MiB of events after `rv`.
    const big = "x".repeat(900 * 1024);
    for (let i = 0; i < 20; i++) {
      assert.equal(await post(api, CM, { metadata: { name: `big-${i}` }, data: { v: big } }), 201);
    }
    for (const from of [String(rv), "0"]) {
      const w = await open(api, `${CM}?watch=true&resourceVersion=${from}&timeoutSeconds=30`);
      assert.equal(w.status, 200);
      await waitFor(
        () => w.events.filter((e) => e.type === "ADDED").length >= 20,
        `20 ADDED from ${from}`,
      );
      w.res.destroy();
      // From a revision: in revision order; the initial state ("0"): in key order.
      const names = Array.from({ length: 20 }, (_, i) => `big-${i}`);
      assert.deepEqual(
        w.events.map((e) => e.object.metadata?.name),
        from === "0" ? names.sort() : names,
      );
    }
  });

  test("a client that reads slowly still gets a large replay whole", async () => {
    const rv = api.server.registry.ctx.store.revision();
    const big = "y".repeat(500 * 1024);
    for (let i = 0; i < 12; i++) {
      api.server.registry.createSync(CM_REF, "default", {
        metadata: { name: `slow-${i}` },
        data: { v: big },
      });
    }
    const w = await open(api, `${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=30`);
    w.res.pause();
    await new Promise((r) => setTimeout(r, 300));
    w.res.resume();
    await until(w, () => w.events.length >= 12, "12 events");
    w.res.destroy();
    assert.deepEqual(
      w.events.map((e) => e.object.metadata?.name),
      Array.from({ length: 12 }, (_, i) => `slow-${i}`),
    );
  });
});

describe("a watcher cut for slowness", () => {
  // Five live events may wait for a watcher whose socket is full; a large window.
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer({ maxBacklog: 5 });
  });
  after(async () => {
    await api?.stop();
  });

  test("ends cleanly after whole events, and a watch from its last resourceVersion resumes without a gap", async () => {
    const registry = api.server.registry;
    const rv = registry.ctx.store.revision();
    const w = await open(api, `${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=60`);
    w.res.pause();
    // About 20 MB: more than the socket buffers hold, so the server must stop writing, and the
    // 30 small writes after them overflow the five that may wait.
    const big = "z".repeat(500 * 1024);
    const names: string[] = [];
    for (let i = 0; i < 40; i++) names.push(`fill-${i}`);
    for (let i = 0; i < 30; i++) names.push(`over-${i}`);
    for (const name of names) {
      registry.createSync(CM_REF, "default", {
        metadata: { name },
        data: name.startsWith("fill") ? { v: big } : {},
      });
    }
    w.res.resume();
    assert.equal(await w.ended, true, "the response ends as a complete chunked body");
    assert.equal(w.rest(), "", "no event is cut in the middle");
    assert.ok(
      w.events.every((e) => e.type === "ADDED"),
      "no ERROR event: kube closes silently",
    );
    const first = w.events.map((e) => e.object.metadata?.name);
    assert.ok(first.length < names.length, `cut after ${first.length} of ${names.length}`);
    assert.deepEqual(first, names.slice(0, first.length));

    const last = w.events.at(-1)?.object.metadata?.resourceVersion ?? String(rv);
    const again = await open(api, `${CM}?watch=true&resourceVersion=${last}&timeoutSeconds=60`);
    await until(again, () => first.length + again.events.length >= names.length, "the rest");
    again.res.destroy();
    assert.deepEqual([...first, ...again.events.map((e) => e.object.metadata?.name)], names);
  });
});
