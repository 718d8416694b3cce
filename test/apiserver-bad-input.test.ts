/**
 * Bad input gets Kubernetes' own error, nothing is stored, and the server keeps serving: raw
 * HTTPS requests (as any client could send) against a real API server.
 */
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";

interface Reply {
  status: number;
  body: string;
  json: Record<string, unknown> | undefined;
}

function send(
  api: TestApiServer,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  auth = true,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, api.server.url);
    const req = request(
      url,
      {
        method,
        ca: api.pki.caCert,
        ...(auth ? { cert: api.pki.adminCert, key: api.pki.adminKey } : {}),
        headers: {
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, json });
        });
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const CM = "/api/v1/namespaces/default/configmaps";

describe("API server bad input", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  const cases: Array<{
    name: string;
    method: string;
    path: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    auth?: boolean;
    code: number;
    reason: string;
    message?: RegExp;
  }> = [
    {
      name: "malformed JSON",
      method: "POST",
      path: CM,
      body: '{"metadata": {"name": "x"',
      code: 400,
      reason: "BadRequest",
      message: /json parse error/,
    },
    {
      name: "malformed YAML",
      method: "POST",
      path: CM,
      body: "metadata:\n  name: [x\n",
      headers: { "Content-Type": "application/yaml" },
      code: 400,
      reason: "BadRequest",
    },
    {
      name: "a JSON array",
      method: "POST",
      path: CM,
      body: "[1,2]",
      code: 400,
      reason: "BadRequest",
    },
    {
      name: "a kind that does not match the URL",
      method: "POST",
      path: CM,
      body: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }),
      code: 400,
      reason: "BadRequest",
      message: /kind/,
    },
    {
      name: "an apiVersion that does not match the URL",
      method: "POST",
      path: CM,
      body: JSON.stringify({ apiVersion: "apps/v1", kind: "ConfigMap", metadata: { name: "x" } }),
      code: 400,
      reason: "BadRequest",
      message:
        /the API version in the data \(apps\/v1\) does not match the expected API version \(v1\)/,
    },
    {
      name: "an invalid name",
      method: "POST",
      path: CM,
      body: JSON.stringify({ metadata: { name: "Bad_Name" } }),
      code: 422,
      reason: "Invalid",
      message:
        /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    },
    {
      name: "a missing name",
      method: "POST",
      path: CM,
      body: JSON.stringify({ metadata: {} }),
      code: 422,
      reason: "Invalid",
      message: /metadata\.name: Required value/,
    },
    {
      name: "an unknown field under strict validation",
      method: "POST",
      path: `${CM}?fieldValidation=Strict`,
      body: JSON.stringify({ metadata: { name: "x" }, dta: { a: "b" } }),
      code: 400,
      reason: "BadRequest",
      message:
        /ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"/,
    },
    {
      name: "a body over 3 MiB",
      method: "POST",
      path: CM,
      body: JSON.stringify({
        metadata: { name: "big" },
        data: { a: "x".repeat(3 * 1024 * 1024 + 10) },
      }),
      code: 413,
      reason: "RequestEntityTooLarge",
    },
    {
      name: "an unknown resource",
      method: "GET",
      path: "/api/v1/namespaces/default/widgets",
      code: 404,
      reason: "NotFound",
      message: /the server could not find the requested resource/,
    },
    {
      name: "an unknown group",
      method: "GET",
      path: "/apis/example.com/v1/things",
      code: 404,
      reason: "NotFound",
    },
    {
      name: "a wrong method on a collection",
      method: "PUT",
      path: CM,
      body: "{}",
      code: 405,
      reason: "MethodNotAllowed",
    },
    {
      name: "an unsupported media type",
      method: "POST",
      path: CM,
      body: "name=x",
      headers: { "Content-Type": "text/plain" },
      code: 415,
      reason: "UnsupportedMediaType",
    },
    {
      name: "a patch with an unknown patch type",
      method: "PATCH",
      path: `${CM}/nope`,
      body: "{}",
      headers: { "Content-Type": "application/json" },
      code: 415,
      reason: "UnsupportedMediaType",
    },
    {
      name: "garbage protobuf",
      method: "POST",
      path: CM,
      body: Buffer.from("k8s\u0000\u00ff\u00ff\u00ff"),
      headers: { "Content-Type": "application/vnd.kubernetes.protobuf" },
      code: 400,
      reason: "BadRequest",
    },
    {
      name: "a missing namespace",
      method: "POST",
      path: "/api/v1/namespaces/nowhere/configmaps",
      body: JSON.stringify({ metadata: { name: "x" } }),
      code: 404,
      reason: "NotFound",
      message: /namespaces "nowhere" not found/,
    },
    {
      name: "a bad label selector",
      method: "GET",
      path: `${CM}?labelSelector=${encodeURIComponent("a in (b")}`,
      code: 400,
      reason: "BadRequest",
    },
    {
      name: "an unsupported field selector",
      method: "GET",
      path: `${CM}?fieldSelector=spec.foo%3Dbar`,
      code: 400,
      reason: "BadRequest",
      message: /field label not supported: spec\.foo/,
    },
    {
      // kube's --anonymous-auth: no credentials is system:anonymous, whom RBAC refuses.
      name: "no credentials",
      method: "GET",
      path: CM,
      auth: false,
      code: 403,
      reason: "Forbidden",
      message:
        /^configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "default"$/,
    },
    {
      name: "a wrong bearer token",
      method: "GET",
      path: CM,
      auth: false,
      headers: { Authorization: "Bearer nope" },
      code: 401,
      reason: "Unauthorized",
    },
  ];

  for (const c of cases) {
    test(`${c.name} answers ${c.code} ${c.reason} and stores nothing`, async () => {
      const before = await send(api, "GET", CM);
      const count = (before.json!["items"] as unknown[]).length;
      const r = await send(api, c.method, c.path, c.body, c.headers ?? {}, c.auth ?? true);
      assert.equal(r.status, c.code, r.body);
      assert.equal(r.json?.["kind"], "Status");
      assert.equal(r.json?.["status"], "Failure");
      assert.equal(r.json?.["reason"], c.reason);
      assert.equal(r.json?.["code"], c.code);
      if (c.message) assert.match(String(r.json?.["message"]), c.message);
      const afterList = await send(api, "GET", CM);
      assert.equal((afterList.json!["items"] as unknown[]).length, count, "nothing was stored");
      assert.equal(
        (await send(api, "GET", "/readyz", undefined, {}, false)).status,
        200,
        "the server keeps serving",
      );
    });
  }

  test("an Invalid answer names each field in details.causes", async () => {
    const r = await send(
      api,
      "POST",
      "/apis/apps/v1/namespaces/default/deployments",
      JSON.stringify({
        metadata: { name: "web" },
        spec: {
          replicas: -1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "c", image: "i" }] },
          },
        },
      }),
    );
    assert.equal(r.status, 422);
    const causes = (r.json!["details"] as { causes: Array<{ field: string; reason: string }> })
      .causes;
    const fields = causes.map((c) => c.field);
    assert.ok(fields.includes("spec.replicas"), JSON.stringify(causes));
    assert.ok(fields.includes("spec.template.metadata.labels"), JSON.stringify(causes));
    assert.equal((r.json!["details"] as { kind: string }).kind, "Deployment");
  });

  test("a stale resourceVersion is a Conflict and a second create is AlreadyExists", async () => {
    const created = await send(api, "POST", CM, JSON.stringify({ metadata: { name: "c1" } }));
    assert.equal(created.status, 201);
    const again = await send(api, "POST", CM, JSON.stringify({ metadata: { name: "c1" } }));
    assert.equal(again.status, 409);
    assert.equal(again.json?.["reason"], "AlreadyExists");
    assert.match(String(again.json?.["message"]), /configmaps "c1" already exists/);
    const stale = await send(
      api,
      "PUT",
      `${CM}/c1`,
      JSON.stringify({ metadata: { name: "c1", resourceVersion: "1" }, data: { a: "b" } }),
    );
    assert.equal(stale.status, 409);
    assert.equal(stale.json?.["reason"], "Conflict");
  });

  test("a watch from a revision older than the window gets an ERROR event with 410 Expired", async () => {
    // A fresh server whose window holds two events.
    const small = await startTestApiServer({ eventWindow: 2 });
    try {
      for (let i = 0; i < 5; i++)
        await send(small, "POST", CM, JSON.stringify({ metadata: { name: `w${i}` } }));
      const r = await send(small, "GET", `${CM}?watch=true&resourceVersion=1&timeoutSeconds=1`);
      assert.equal(r.status, 200);
      const event = JSON.parse(r.body.trim().split("\n")[0]!) as {
        type: string;
        object: { code: number; reason: string; message: string };
      };
      assert.equal(event.type, "ERROR");
      assert.equal(event.object.code, 410);
      assert.equal(event.object.reason, "Expired");
      assert.match(event.object.message, /too old resource version: 1 \(\d+\)/);
    } finally {
      await small.stop();
    }
  });
});
