import assert from "node:assert/strict";
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { type StreamedJson, splitEnvelope, writeJsonList } from "./_listwriter.ts";

/** A plain HTTP server answering every request with `writeJsonList(make())`. */
async function serve(make: () => StreamedJson, batchBytes: number) {
  const done: Promise<void>[] = [];
  const server = http.createServer((_req, res) => {
    done.push(writeJsonList(res, 200, make(), { batchBytes, singleBytes: batchBytes }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    done,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function get(port: number): Promise<{ res: http.IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/" }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ res, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

function pods(n: number, pad = 0) {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p-${i}`, namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "busybox", args: ["x".repeat(pad)] }] },
    status: { phase: "Running", message: i % 3 === 0 ? "naïve “quotes” \u2028 \\ ok" : undefined },
  }));
}

const partial = (item: unknown) => ({
  kind: "PartialObjectMetadata",
  apiVersion: "meta.k8s.io/v1",
  metadata: (item as { metadata: unknown }).metadata,
});

describe("writeJsonList writes exactly JSON.stringify of the body", () => {
  const cases: { name: string; streamed: StreamedJson; expected: unknown }[] = [
    {
      name: "an empty list",
      streamed: {
        body: { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "7" }, items: [] },
        arrayKey: "items",
      },
      expected: {
        apiVersion: "v1",
        kind: "PodList",
        metadata: { resourceVersion: "7" },
        items: [],
      },
    },
    {
      name: "a list page with continue and remainingItemCount",
      streamed: {
        body: {
          apiVersion: "v1",
          kind: "PodList",
          metadata: { resourceVersion: "9", continue: 'eyJ"x\\', remainingItemCount: 12 },
          items: pods(40),
        },
        arrayKey: "items",
      },
      expected: {
        apiVersion: "v1",
        kind: "PodList",
        metadata: { resourceVersion: "9", continue: 'eyJ"x\\', remainingItemCount: 12 },
        items: pods(40),
      },
    },
    {
      name: "members after the array, undefined members and undefined items",
      streamed: {
        body: { a: 1, items: [1, undefined, "s", null, { b: undefined }], skip: undefined, z: [2] },
        arrayKey: "items",
      },
      expected: {
        a: 1,
        items: [1, undefined, "s", null, { b: undefined }],
        skip: undefined,
        z: [2],
      },
    },
    {
      name: "a PartialObjectMetadataList mapped item by item",
      streamed: {
        body: {
          kind: "PartialObjectMetadataList",
          apiVersion: "meta.k8s.io/v1",
          metadata: { resourceVersion: "3" },
          items: pods(25),
        },
        arrayKey: "items",
        map: partial,
      },
      expected: {
        kind: "PartialObjectMetadataList",
        apiVersion: "meta.k8s.io/v1",
        metadata: { resourceVersion: "3" },
        items: pods(25).map(partial),
      },
    },
    {
      name: "a Table whose array is rows",
      streamed: {
        body: {
          kind: "Table",
          apiVersion: "meta.k8s.io/v1",
          metadata: {},
          columnDefinitions: [{ name: "Name", type: "string" }],
          rows: [{ cells: ["a"] }, { cells: ["b"] }],
        },
        arrayKey: "rows",
      },
      expected: {
        kind: "Table",
        apiVersion: "meta.k8s.io/v1",
        metadata: {},
        columnDefinitions: [{ name: "Name", type: "string" }],
        rows: [{ cells: ["a"] }, { cells: ["b"] }],
      },
    },
  ];
  for (const c of cases) {
    for (const batchBytes of [1, 200, 1 << 20]) {
      test(`${c.name}, in batches of ${batchBytes} characters`, async () => {
        const s = await serve(() => c.streamed, batchBytes);
        try {
          const { res, body } = await get(s.port);
          assert.equal(body, JSON.stringify(c.expected));
          assert.equal(res.headers["content-type"], "application/json");
          const items = c.streamed.body[c.streamed.arrayKey] as unknown[];
          const streams = items.length > 0 && batchBytes === 1;
          if (streams) assert.equal(res.headers["transfer-encoding"], "chunked");
          if (!streams && batchBytes > body.length) {
            assert.equal(res.headers["content-length"], String(Buffer.byteLength(body)));
          }
        } finally {
          await s.close();
        }
      });
    }
  }
});

describe("splitEnvelope", () => {
  test("splitEnvelope rejects a body whose array key is not an array", () => {
    assert.throws(() => splitEnvelope({ items: "x" }, "items"), TypeError);
  });
});

/**
 * Polls until `read()` stops changing for `quietMs`, then returns its value. A quiet period, not
 * a signal: nothing tells from outside that a writer has stopped for good, only a still count.
 */
async function settle(read: () => number, quietMs = 300): Promise<number> {
  let last = -1;
  for (;;) {
    const now = read();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

describe("writeJsonList under a slow or vanishing client", () => {
  // ~40 MB of JSON: more than the kernel's socket buffers on loopback can absorb.
  const items = pods(20_000, 2000);
  const total = items.length;
  let encoded = 0;
  /** A server of the whole list in 64 KiB batches, counting the items it encodes. */
  const serveCounted = () => {
    encoded = 0;
    return serve(
      () => ({
        body: { kind: "PodList", items },
        arrayKey: "items",
        map: (x) => {
          encoded++;
          return x;
        },
      }),
      64 * 1024,
    );
  };

  test("a paused reader stops the encoding well short of the whole list", async () => {
    const s = await serveCounted();
    try {
      const req = http.get({ host: "127.0.0.1", port: s.port, path: "/" });
      const [res] = (await once(req, "response")) as [http.IncomingMessage];
      res.pause();
      const stalled = await settle(() => encoded);
      assert.ok(stalled < total / 2, `encoded ${stalled} of ${total} items for a paused reader`);
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.resume();
      await once(res, "end");
      assert.ok(encoded >= total, `encoded ${encoded} of ${total} items once resumed`);
      const list = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { items: unknown[] };
      assert.equal(list.items.length, total);
    } finally {
      await s.close();
    }
  });

  test("a client that disconnects mid-list stops the encoding and the server keeps serving", async () => {
    const s = await serveCounted();
    try {
      const req = http.get({ host: "127.0.0.1", port: s.port, path: "/" });
      req.on("error", () => {});
      const [res] = (await once(req, "response")) as [http.IncomingMessage];
      res.on("error", () => {});
      await once(res, "data");
      req.destroy();
      await Promise.all(s.done);
      const stopped = await settle(() => encoded);
      assert.ok(stopped < total, `encoded ${stopped} of ${total} items after the client left`);
      encoded = 0;
      const again = await get(s.port);
      assert.equal((JSON.parse(again.body) as { items: unknown[] }).items.length, total);
    } finally {
      await s.close();
    }
  });

  test("other callbacks run between batches while a big list streams", async () => {
    let ticks = 0;
    let streaming = true;
    const tick = () => {
      ticks++;
      if (streaming) setImmediate(tick);
    };
    const s = await serve(
      () => ({ body: { kind: "PodList", items }, arrayKey: "items" }),
      64 * 1024,
    );
    try {
      const pending = get(s.port);
      setImmediate(tick);
      await pending;
      streaming = false;
      // 40 MB in 64 KB batches is ~600 batches; a writer that never yields gives a handful.
      assert.ok(ticks > 50, `only ${ticks} event-loop turns while the list streamed`);
    } finally {
      await s.close();
    }
  });

  test("an item that fails to encode before the headers rejects, so the caller can send a Status", async () => {
    const server = http.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    const failure = new Promise<unknown>((resolve) => {
      server.on("request", (_req, res: http.ServerResponse) => {
        const bad = {
          toJSON() {
            throw new RangeError("Invalid string length");
          },
        };
        writeJsonList(res, 200, { body: { items: [bad] }, arrayKey: "items" }).then(
          () => resolve(undefined),
          (e: unknown) => {
            res.writeHead(500).end();
            resolve(e);
          },
        );
      });
    });
    try {
      const { res } = await get(port);
      assert.equal(res.statusCode, 500);
      assert.ok((await failure) instanceof RangeError);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("an item that fails to encode after the headers breaks the response", async () => {
    const server = http.createServer((_req, res) => {
      const items: unknown[] = pods(100, 100);
      items.push({
        toJSON() {
          throw new Error("boom");
        },
      });
      void writeJsonList(
        res,
        200,
        { body: { items }, arrayKey: "items" },
        {
          batchBytes: 1024,
          singleBytes: 1024,
        },
      );
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    try {
      await assert.rejects(get(port));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
