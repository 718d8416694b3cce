/**
 * Watches over HTTP as any client reads them: raw HTTPS against a real API server. A replay larger
 * than any buffer streams at the client's pace; a watcher cut for slowness ends cleanly after
 * whole events and resumes from the last one it got (or gets 410 Expired and re-lists).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { KUBECTL, NO_KUBECTL } from "./_kubectl.ts";

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

/** `check` on a stream's events, for `waitFor`: fails the wait at once if the stream ends first. */
function onStream(w: Stream, check: () => boolean): () => boolean {
  let ended = false;
  void w.ended.then(() => {
    ended = true;
  });
  return () => {
    if (check()) return true;
    assert.ok(!ended, `the watch ended first (${w.events.length} events)`);
    return false;
  };
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
      await waitFor(() => w.events.filter((e) => e.type === "ADDED").length >= 20, {
        what: `20 ADDED from ${from}`,
      });
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
    // The input is a reader that does not read for a while, not an outcome to wait for.
    await new Promise((r) => setTimeout(r, 300));
    w.res.resume();
    await waitFor(
      onStream(w, () => w.events.length >= 12),
      { what: "12 events" },
    );
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
    await waitFor(
      onStream(again, () => first.length + again.events.length >= names.length),
      { what: "the rest" },
    );
    again.res.destroy();
    assert.deepEqual([...first, ...again.events.map((e) => e.object.metadata?.name)], names);
  });
});

describe("bookmarks and WatchList", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  test("sendInitialEvents sends every object, then a bookmark marking their end, then changes", async () => {
    const registry = api.server.registry;
    for (const name of ["b", "a"]) registry.createSync(CM_REF, "default", { metadata: { name } });
    const at = registry.ctx.store.revision();
    const w = await open(
      api,
      `${CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=30`,
    );
    await waitFor(
      onStream(w, () => w.events.length >= 3),
      { what: "two objects and a bookmark" },
    );
    const beforeChange = registry.ctx.store.revision();
    registry.createSync(CM_REF, "default", { metadata: { name: "c" } });
    await waitFor(
      onStream(w, () => w.events.length >= 4),
      { what: "the change after" },
    );
    w.res.destroy();
    assert.deepEqual(
      w.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ""}`),
      ["ADDED a", "ADDED b", "BOOKMARK ", "ADDED c"],
    );
    const mark = w.events[2]!.object;
    assert.equal(mark.kind, "ConfigMap");
    // The revision the initial events are consistent with: at least the objects' own, at most
    // the store's before the later change (the server's own loops, such as RBAC's aggregation,
    // may write in between).
    const { resourceVersion, ...rest } = mark.metadata as { resourceVersion: string };
    assert.deepEqual(rest, { annotations: { "k8s.io/initial-events-end": "true" } });
    assert.ok(
      Number(resourceVersion) >= at && Number(resourceVersion) <= beforeChange,
      `bookmark at ${resourceVersion}, objects at ${at}, change after ${beforeChange}`,
    );
  });

  test("sendInitialEvents=false from the latest revision sends only changes", async () => {
    const w = await open(
      api,
      `${CM}?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=30`,
    );
    api.server.registry.createSync(CM_REF, "default", { metadata: { name: "only-new" } });
    await waitFor(
      onStream(w, () => w.events.length >= 1),
      { what: "the new object" },
    );
    w.res.destroy();
    assert.deepEqual(
      w.events.map((e) => e.object.metadata?.name),
      ["only-new"],
    );
  });

  const invalid: Array<[query: string, message: string]> = [
    [
      "sendInitialEvents=true",
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    ],
    [
      "resourceVersion=5&resourceVersionMatch=NotOlderThan",
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    ],
    [
      "sendInitialEvents=true&resourceVersionMatch=Exact",
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    ],
  ];
  for (const [query, message] of invalid) {
    test(`a watch with ${query} is 422 Invalid`, async () => {
      const w = await open(api, `${CM}?watch=1&${query}`);
      await w.ended;
      assert.equal(w.status, 422);
      const status = JSON.parse(w.rest()) as { reason: string; message: string };
      assert.equal(status.reason, "Invalid");
      assert.equal(status.message, message);
    });
  }

  test("a bookmark comes 2 s before the timeout and carries the latest revision", async () => {
    const registry = api.server.registry;
    const w = await open(
      api,
      `${CM}?watch=1&resourceVersion=${registry.ctx.store.revision()}&allowWatchBookmarks=true&timeoutSeconds=3`,
    );
    // A write elsewhere moves the revision: the bookmark still carries it (nothing is pending).
    registry.createSync({ group: "", version: "v1", resource: "secrets" }, "default", {
      metadata: { name: "elsewhere" },
    });
    const latest = registry.ctx.store.revision();
    assert.equal(await w.ended, true);
    assert.deepEqual(
      w.events.map((e) => [e.type, e.object.metadata?.resourceVersion]),
      [["BOOKMARK", String(latest)]],
    );
  });
});

// client-go's reflector (inside `kubectl wait`), legacy list+watch and WatchList: its watch is cut
// for slowness by a burst of writes larger than what may wait, its resourceVersion has left the
// window of 20 events by then, so the watch it starts again gets 410 Expired and it re-lists.
for (const watchList of [false, true]) {
  describe(`client-go's reflector (kubectl wait${watchList ? ", WatchList" : ""})`, {
    skip: NO_KUBECTL,
  }, () => {
    let api: TestApiServer;
    before(async () => {
      api = await startTestApiServer({ eventWindow: 20, maxBacklog: 5 });
    });
    after(async () => {
      await api?.stop();
    });

    test("re-lists after a cut and an expired resourceVersion and sees the change", async () => {
      const registry = api.server.registry;
      registry.createSync(CM_REF, "default", {
        metadata: { name: "target" },
        data: { phase: "pending" },
      });
      const child = spawn(
        KUBECTL!,
        [
          "--kubeconfig",
          api.kubeconfigPath,
          "--cache-dir",
          `${api.dir}/kube-cache`,
          "wait",
          "--for=jsonpath={.data.phase}=done",
          "configmap/target",
          "--timeout=60s",
          "-v=6",
        ],
        {
          env: {
            ...process.env,
            HOME: api.dir,
            ...(watchList ? { KUBE_FEATURE_WatchListClient: "true" } : {}),
          },
        },
      );
      let log = "";
      let stdout = "";
      child.stderr.on("data", (c: Buffer) => {
        log += c.toString();
      });
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
      });
      const exited = new Promise<number | null>((r) => child.on("exit", r));
      try {
        await waitFor(() => /watch=true\S* 200 OK/.test(log), { what: "kubectl's watch" });
        if (watchList) assert.match(log, /sendInitialEvents=true/);
        // After a second (a shorter watch is one client-go re-lists after anyway, as "very short
        // watch"), 50 writes in one go: more than the 5 that may wait, and they push the
        // reflector's resourceVersion out of the window of 20.
        await new Promise((r) => setTimeout(r, 1_100));
        for (let i = 0; i < 50; i++) {
          registry.createSync(CM_REF, "default", { metadata: { name: `burst-${i}` } });
        }
        const relists = () => log.match(/Listing and watching/g)?.length ?? 0;
        await waitFor(() => relists() >= 2, { what: "a re-list" }).catch((e: Error) => {
          throw new Error(`${e.message}\n${log.slice(-4000)}`);
        });
        assert.match(log, /too old resource version|very short watch/);
        registry.patchSync(CM_REF, "default", "target", "merge", { data: { phase: "done" } }, {});
        assert.equal(await exited, 0, log.slice(-3000));
        assert.match(stdout, /configmap\/target condition met/);
      } finally {
        child.kill();
      }
    });
  });
}
