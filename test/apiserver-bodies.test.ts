/**
 * Big request bodies (over 64 KiB) are parsed, decoded and checked on a worker thread (issue #14,
 * item 2): the event loop keeps answering while a 3 MiB YAML body is checked, and every answer
 * is the one the event loop gives when it does the work itself. Each case runs against two
 * servers, one with body workers and one without (`bodyWorkers: 0`), and must answer the same
 * status, reason, message and warnings, and leave the same objects.
 */
import assert from "node:assert/strict";
import { Agent, request } from "node:https";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { type Reply, send, warnings } from "./_raw.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const JSON_TYPE = { "Content-Type": "application/json" };
const YAML_TYPE = { "Content-Type": "application/yaml" };

/** ConfigMap data of about `bytes` bytes in keys of ten characters. */
function data(bytes: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i * 20 < bytes; i++) out[`key-${String(i).padStart(6, "0")}`] = `value${i}`;
  return out;
}

function yamlFlow(name: string, bytes: number): string {
  const pairs: string[] = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    pairs.push(`k${i}: v${i}`);
    size += pairs[pairs.length - 1]!.length + 2;
  }
  return `metadata:\n  name: ${name}\ndata: {${pairs.join(", ")}}\n`;
}

/** Valid ConfigMap data whose JSON is over etcd's 1.5 MiB: long keys, short values. */
function oversize(): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: 8000 }, (_, i) => [`${"k".repeat(200)}${i}`, "v"]),
  );
}

interface Case {
  name: string;
  /** The status of the last request. */
  status: number;
  /** The requests, in order; the answer of the last one is compared. */
  requests: Array<{
    method: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
  }>;
  /** The object to compare after, if any. */
  read?: string;
}

const CASES: Case[] = [
  {
    name: "a 3 MiB YAML ConfigMap whose data is over 1 MiB (422)",
    status: 422,
    requests: [
      {
        method: "POST",
        path: CM,
        body: yamlFlow("big", 3 * 1024 * 1024 - 200),
        headers: YAML_TYPE,
      },
    ],
  },
  {
    name: "a valid 100 KB create with an unknown field (201 and a warning)",
    status: 201,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "warned" }, data: data(100_000), bogus: 1 }),
        headers: JSON_TYPE,
      },
    ],
    read: `${CM}/warned`,
  },
  {
    name: "the same under fieldValidation=Strict (400)",
    status: 400,
    requests: [
      {
        method: "POST",
        path: `${CM}?fieldValidation=Strict`,
        body: JSON.stringify({ metadata: { name: "strict" }, data: data(100_000), bogus: 1 }),
        headers: JSON_TYPE,
      },
    ],
  },
  {
    name: "a value of the wrong type (400)",
    status: 400,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({
          metadata: { name: "typed", labels: { a: 1 } },
          data: data(100_000),
        }),
        headers: JSON_TYPE,
      },
    ],
  },
  {
    name: "YAML that breaks after 100 KB (400)",
    status: 400,
    requests: [
      { method: "POST", path: CM, body: `${yamlFlow("broken", 100_000)}x: [`, headers: YAML_TYPE },
    ],
  },
  {
    name: "a valid object over etcd's limit (500 with kube's message)",
    status: 500,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "huge" }, data: oversize() }),
        headers: JSON_TYPE,
      },
    ],
  },
  {
    name: "a create in a namespace that does not exist (404)",
    status: 404,
    requests: [
      {
        method: "POST",
        path: "/api/v1/namespaces/nowhere/configmaps",
        body: JSON.stringify({ metadata: { name: "lost" }, data: data(100_000) }),
        headers: JSON_TYPE,
      },
    ],
  },
  {
    name: "a second create of the same name (409)",
    status: 409,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "twice" }, data: data(100_000) }),
        headers: JSON_TYPE,
      },
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "twice" }, data: data(100_000) }),
        headers: JSON_TYPE,
      },
    ],
  },
  {
    name: "an update, valid (200) then invalid (422), of a stored object",
    status: 422,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "upd" } }),
        headers: JSON_TYPE,
      },
      {
        method: "PUT",
        path: `${CM}/upd`,
        body: JSON.stringify({ metadata: { name: "upd" }, data: data(100_000) }),
        headers: JSON_TYPE,
      },
      {
        method: "PUT",
        path: `${CM}/upd`,
        body: JSON.stringify({
          metadata: { name: "upd" },
          data: { ...data(100_000), "bad key": "x" },
        }),
        headers: JSON_TYPE,
      },
    ],
    read: `${CM}/upd`,
  },
  {
    name: "a merge patch that adds 100 KB (200)",
    status: 200,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "mp" } }),
        headers: JSON_TYPE,
      },
      {
        method: "PATCH",
        path: `${CM}/mp`,
        body: JSON.stringify({ data: data(100_000) }),
        headers: { "Content-Type": "application/merge-patch+json" },
      },
    ],
    read: `${CM}/mp`,
  },
  {
    name: "a strategic patch that grows an object past etcd's limit (500)",
    status: 500,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "sp" } }),
        headers: JSON_TYPE,
      },
      {
        method: "PATCH",
        path: `${CM}/sp`,
        body: JSON.stringify({ data: oversize() }),
        headers: { "Content-Type": "application/strategic-merge-patch+json" },
      },
    ],
    read: `${CM}/sp`,
  },
  {
    name: "a server-side apply that creates (201), then one refused (422)",
    status: 422,
    requests: [
      {
        method: "PATCH",
        path: `${CM}/ap?fieldManager=t`,
        body: `apiVersion: v1\nkind: ConfigMap\n${yamlFlow("ap", 100_000)}`,
        headers: { "Content-Type": "application/apply-patch+yaml" },
      },
      {
        method: "PATCH",
        path: `${CM}/ap?fieldManager=t`,
        body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ap\n  labels: {"-": x}\n${yamlFlow("ap", 100_000).split("\n")[2]}\n`,
        headers: { "Content-Type": "application/apply-patch+yaml" },
      },
    ],
    read: `${CM}/ap`,
  },
  {
    name: "a delete with a 100 KB DeleteOptions body (200)",
    status: 200,
    requests: [
      {
        method: "POST",
        path: CM,
        body: JSON.stringify({ metadata: { name: "del" } }),
        headers: JSON_TYPE,
      },
      {
        method: "DELETE",
        path: `${CM}/del`,
        body: JSON.stringify({ propagationPolicy: "Background", padding: "x".repeat(100_000) }),
        headers: JSON_TYPE,
      },
    ],
    read: `${CM}/del`,
  },
];

/** What is compared: the answer without server-set values (uid, times, resourceVersion). */
function answer(r: Reply): object {
  const json = r.json ? structuredClone(r.json) : undefined;
  const meta = json?.["metadata"] as Record<string, unknown> | undefined;
  if (meta) {
    for (const k of ["uid", "creationTimestamp", "resourceVersion", "managedFields"])
      delete meta[k];
  }
  return { status: r.status, warnings: warnings(r), body: json ?? r.body };
}

describe("big request bodies", () => {
  let withWorkers: TestApiServer;
  let without: TestApiServer;
  before(async () => {
    [withWorkers, without] = await Promise.all([
      startTestApiServer(),
      startTestApiServer({ bodyWorkers: 0 }),
    ]);
  });
  after(async () => {
    await Promise.all([withWorkers?.stop(), without?.stop()]);
  });

  for (const c of CASES) {
    test(`${c.name}: answered as the event loop answers it`, async () => {
      const results: object[] = [];
      for (const api of [withWorkers, without]) {
        let last: Reply | undefined;
        for (const r of c.requests) {
          last = await send(api, r.method, r.path, r.body, r.headers ? { headers: r.headers } : {});
        }
        assert.equal(last!.status, c.status, last!.body.slice(0, 300));
        const read = c.read ? answer(await send(api, "GET", c.read)) : undefined;
        results.push({ last: answer(last!), read });
      }
      assert.deepEqual(results[0], results[1]);
    });
  }

  test("the event loop keeps answering while a 3 MiB YAML body is checked", async () => {
    const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    let uploaded = false;
    let answeredAfterUpload = 0;
    let done = false;
    const probes = (async () => {
      while (!done) {
        const r = await send(withWorkers, "GET", "/api/v1/namespaces/default", undefined, {
          agent: probeAgent,
        });
        assert.equal(r.status, 200);
        if (uploaded && !done) answeredAfterUpload++;
      }
    })();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        new URL(CM, withWorkers.server.url),
        {
          method: "POST",
          ca: withWorkers.pki.caCert,
          cert: withWorkers.pki.adminCert,
          key: withWorkers.pki.adminKey,
          headers: YAML_TYPE,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.on("finish", () => {
        uploaded = true;
      });
      req.end(yamlFlow("probed", 3 * 1024 * 1024 - 200));
    });
    done = true;
    await probes;
    probeAgent.destroy();
    assert.equal(status, 422);
    // Parsing, decoding and validating 3 MiB of YAML takes the worker hundreds of milliseconds
    // at the least; on the event loop, no probe could be answered meanwhile.
    assert.ok(answeredAfterUpload >= 5, `${answeredAfterUpload} probes answered`);
  });
});
