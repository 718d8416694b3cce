/**
 * kube-apiserver's max-in-flight limit: past it a request answers 429 with `Retry-After` at
 * once, while health checks, read-only requests (their own limit) and watches keep answering.
 */
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { send } from "./_raw.ts";

const CM = "/api/v1/namespaces/default/configmaps";

describe("max requests in flight", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer({ maxInFlight: { readOnly: 2, mutating: 1 } });
  });
  after(async () => {
    await api?.stop();
  });

  test("a mutating request past the limit answers 429 with Retry-After; health and reads still answer", async () => {
    const body = JSON.stringify({ metadata: { name: "slow" } });
    // A create whose body is still arriving holds the one mutating slot.
    let finish!: () => void;
    const held = new Promise<number>((resolve, reject) => {
      const req = request(
        new URL(CM, api.server.url),
        {
          method: "POST",
          ca: api.pki.caCert,
          cert: api.pki.adminCert,
          key: api.pki.adminKey,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 5));
      finish = () => req.end(body.slice(5));
    });
    // The server counts the held request once it has its headers: wait for the first 429.
    let refused = await send(api, "POST", CM, JSON.stringify({ metadata: { name: "other" } }));
    if (refused.status !== 429) {
      refused = await waitFor(
        async () => {
          const r = await send(api, "DELETE", `${CM}/other`);
          return r.status === 429 && r;
        },
        { what: "a 429 while the request is held" },
      );
    }
    assert.equal(refused.status, 429, refused.body);
    assert.equal(refused.headers["retry-after"], "1");
    assert.equal(refused.body, "Too many requests, please try again later.\n");

    assert.equal((await send(api, "GET", "/readyz", undefined, { anonymous: true })).status, 200);
    assert.equal((await send(api, "GET", CM)).status, 200);
    const watch = await send(api, "GET", `${CM}?watch=true&timeoutSeconds=1`);
    assert.equal(watch.status, 200);

    finish();
    assert.equal(await held, 201);
    const after = await send(api, "POST", CM, JSON.stringify({ metadata: { name: "after" } }));
    assert.equal(after.status, 201, after.body);
  });
});
