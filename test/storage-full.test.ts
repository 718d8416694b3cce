/**
 * A store that cannot write (here: SQLite past its quota, which fails exactly as a full disk
 * does, SQLITE_FULL) seen through the API as kubectl and a monitor see it: writes answer a 500
 * InternalError Status naming the cause (kube-apiserver answers etcd's "database space exceeded"
 * with a 500 too), `/readyz` fails its `etcd` check while `/livez` stays ok, reads go on, and
 * once space is freed the next write succeeds and `/readyz` recovers. Nothing acknowledged is lost.
 */
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const BLOB = "x".repeat(32 * 1024);

function send(
  api: TestApiServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, api.server.url),
      {
        method,
        ca: api.pki.caCert,
        cert: api.pki.adminCert,
        key: api.pki.adminKey,
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("a full store, through the API", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer({ sqlite: { quotaBytes: 512 * 1024 } });
  });
  after(async () => {
    await api?.stop();
  });

  test("writes answer 500 InternalError and /readyz fails etcd until space is freed; reads and acknowledged objects stay", async () => {
    const stored: string[] = [];
    let refused: { status: number; body: string } | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const name = `fill-${i}`;
      const reply = await send(api, "POST", CM, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name },
        data: { blob: BLOB },
      });
      if (reply.status === 201) stored.push(name);
      else refused = reply;
    }
    assert.ok(stored.length > 3, `only ${stored.length} ConfigMaps fit`);
    assert.equal(refused?.status, 500, refused?.body);
    const status = JSON.parse(refused.body) as Record<string, unknown>;
    assert.equal(status["kind"], "Status");
    assert.equal(status["reason"], "InternalError");
    assert.match(
      String(status["message"]),
      /^Internal error occurred: storage cannot write: database or disk is full \(SQLITE_FULL, .*state\.db\)$/,
    );

    const kubectlCreate = await api.kubectl([
      "create",
      "configmap",
      "one-more",
      `--from-literal=blob=${BLOB}`,
    ]);
    assert.equal(kubectlCreate.code, 1);
    assert.match(
      kubectlCreate.stderr,
      /^error: failed to create configmap: Internal error occurred: storage cannot write: database or disk is full \(SQLITE_FULL/,
    );

    const readyz = await send(api, "GET", "/readyz?verbose");
    assert.equal(readyz.status, 500);
    assert.match(
      readyz.body,
      /^\[\+\]ping ok\n\[-\]etcd failed: storage cannot write: database or disk is full \(SQLITE_FULL, .*\)\nreadyz check failed\n$/,
    );
    assert.equal((await send(api, "GET", "/livez")).status, 200);

    // Reads go on, and every acknowledged object is there.
    const names = await api.kubectl(["get", "configmaps", "-o", "name"]);
    assert.equal(names.code, 0, names.stderr);
    const listed = names.stdout
      .trim()
      .split("\n")
      .filter((n) => n.startsWith("configmap/fill-"));
    assert.deepEqual(listed.sort(), stored.map((n) => `configmap/${n}`).sort());

    // Deleting frees space; the next write that goes through clears the check.
    const deleted = await api.kubectl(["delete", "configmap", ...stored.slice(0, 3)]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const created = await api.kubectl([
      "create",
      "configmap",
      "one-more",
      `--from-literal=blob=${BLOB}`,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(await send(api, "GET", "/readyz"), { status: 200, body: "ok" });
    assert.equal(
      (await send(api, "GET", `${CM}/${stored.at(-1)}`)).status,
      200,
      "the last acknowledged object is still there",
    );
  });
});
