import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { decodeBody } from "../registry/index.ts";
import type { BodyJob, BodyVerdict } from "./_bodyjob.ts";
import type { BodyAnswer } from "./bodypool.ts";
import { BodyWorkerFailed } from "./bodypool.ts";
import { createHandler } from "./handler.ts";
import { OFFLOAD_BYTES, offloadBody } from "./offload.ts";

const CM = { group: "", version: "v1", resource: "configmaps" };
const KEY = "/core/configmaps/default/c";

function setup() {
  const store = openStore({ backend: "memory" });
  const { registry } = createRegistry(store);
  registry.createSync(CM, "default", { metadata: { name: "c" }, data: { a: "b" } } as never);
  return { store, registry };
}

/** A pool that answers from a script and keeps the jobs it was given. */
function scripted(answers: Array<BodyVerdict | Error>) {
  const jobs: BodyJob[] = [];
  return {
    jobs,
    run: async (job: BodyJob): Promise<BodyAnswer> => {
      jobs.push(job);
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      if (next instanceof Error) throw next;
      return { verdict: next, body: job.body };
    },
  };
}

const JOB: Omit<BodyJob, "snapshot"> = {
  body: Buffer.from("{}"),
  contentType: "application/json",
  verb: "update",
  ref: CM,
  namespace: "default",
  name: "c",
  options: {},
};

describe("offloadBody", () => {
  test("sends the namespace and the named object, and answers a rejection that still holds", async () => {
    const { store, registry } = setup();
    const rv = store.get(KEY)!.metadata.resourceVersion!;
    const pool = scripted([
      {
        ok: false,
        status: { code: 422, reason: "Invalid", message: "no" },
        warnings: ['unknown field "x"'],
        reads: [[KEY, rv]],
      },
    ]);
    const warned: string[] = [];
    await assert.rejects(
      offloadBody(pool, registry, JOB, { parse: () => assert.fail(), warn: (w) => warned.push(w) }),
      (e: unknown) => isStatusError(e, "Invalid") && e.message === "no",
    );
    assert.deepEqual(
      pool.jobs[0]!.snapshot.map(([k]) => k),
      ["/core/namespaces/default", KEY],
    );
    assert.deepEqual(warned, ['unknown field "x"']);
  });

  test("sends the job again when an object it rested on changed, with that object", async () => {
    const { store, registry } = setup();
    const pool = scripted([
      {
        ok: false,
        status: { code: 404, reason: "NotFound", message: "gone" },
        warnings: [],
        reads: [
          [KEY, "1"],
          ["/core/configmaps/default/other", null],
        ],
      },
      {
        ok: false,
        status: { code: 422, reason: "Invalid", message: "still no" },
        warnings: [],
        reads: [[KEY, store.get(KEY)!.metadata.resourceVersion!]],
      },
    ]);
    registry.createSync(CM, "default", { metadata: { name: "other" } } as never);
    await assert.rejects(
      offloadBody(pool, registry, JOB, { parse: () => assert.fail() }),
      (e: unknown) => isStatusError(e, "Invalid") && e.message === "still no",
    );
    assert.equal(pool.jobs.length, 2);
    assert.deepEqual(
      pool.jobs[1]!.snapshot.map(([k]) => k),
      ["/core/namespaces/default", KEY, "/core/configmaps/default/other"],
    );
  });

  test("after as many stale answers as it tries, only parses and lets this thread decide", async () => {
    const { registry } = setup();
    const stale: BodyVerdict = {
      ok: false,
      status: { code: 409, reason: "Conflict", message: "x" },
      warnings: [],
      reads: [[KEY, "0"]],
    };
    const pool = scripted([
      stale,
      stale,
      stale,
      { ok: true, body: { a: 1 }, decoded: false, warnings: [] },
    ]);
    assert.deepEqual(await offloadBody(pool, registry, JOB, { parse: () => assert.fail() }), {
      a: 1,
    });
    assert.deepEqual(
      pool.jobs.map((j) => j.check),
      [true, true, true, false],
    );
  });

  test("a decoded body is marked, so the write takes it without decoding it again", async () => {
    const { registry } = setup();
    const decoded = { metadata: { name: "c" }, data: { a: "b" } };
    const pool = scripted([{ ok: true, body: decoded, decoded: true, warnings: [] }]);
    const body = await offloadBody(pool, registry, JOB, { parse: () => assert.fail() });
    assert.equal(body, decoded);
    const gvk = { group: "", version: "v1", kind: "ConfigMap" };
    assert.equal(decodeBody(registry.ctx, gvk, body, {}), decoded);
    // The mark is used up: a second write of the same object decodes it (into a copy).
    assert.notEqual(decodeBody(registry.ctx, gvk, body, {}), decoded);
  });

  test("without a thread that can start, the body is parsed here", async () => {
    const { registry } = setup();
    const pool = scripted([new BodyWorkerFailed("unavailable", "no file")]);
    assert.equal(await offloadBody(pool, registry, JOB, { parse: () => "here" }), "here");
  });

  test("a job past its time answers kube's 504 Timeout", async () => {
    const { registry } = setup();
    const pool = scripted([new BodyWorkerFailed("timeout", "too long")]);
    await assert.rejects(
      offloadBody(pool, registry, JOB, { parse: () => assert.fail() }),
      (e: unknown) => isStatusError(e, "Timeout") && e.code === 504,
    );
  });
});

describe("the handler with a full body pool", () => {
  test("answers a big body 429 with Retry-After before reading it, and a small one as usual", async () => {
    const { registry } = setup();
    const handler = createHandler({
      registry,
      version: {},
      serverAddress: () => "",
      now: Date.now,
      readiness: () => [],
      bodies: { saturated: () => true, run: () => assert.fail("no job may be sent") },
    });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const post = (body: string) =>
      new Promise<{ status: number; retryAfter: string | undefined; text: string }>(
        (resolve, reject) => {
          const req = request(
            {
              host: "127.0.0.1",
              port: (server.address() as AddressInfo).port,
              method: "POST",
              path: "/api/v1/namespaces/default/configmaps",
              headers: { "Content-Type": "application/json" },
            },
            (res) => {
              let text = "";
              res.on("data", (c) => {
                text += c;
              });
              res.on("end", () =>
                resolve({
                  status: res.statusCode ?? 0,
                  retryAfter: res.headers["retry-after"],
                  text,
                }),
              );
            },
          );
          req.on("error", reject);
          req.end(body);
        },
      );
    try {
      const big = JSON.stringify({
        metadata: { name: "big" },
        data: { a: "x".repeat(OFFLOAD_BYTES) },
      });
      assert.deepEqual(await post(big), {
        status: 429,
        retryAfter: "1",
        text: "Too many requests, please try again later.\n",
      });
      assert.equal((await post(JSON.stringify({ metadata: { name: "small" } }))).status, 201);
    } finally {
      server.close();
    }
  });
});
