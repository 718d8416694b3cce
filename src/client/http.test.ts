import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../_testing/index.ts";
import { isStatusError, notFound, StatusError } from "../api/errors.ts";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import type { ApiVerbs, PatchType, ResourceRef } from "../api/verbs.ts";
import { json, type Stub, startStub } from "./_testing/stub-server.ts";
import { hasOpenssl, selfSignedCert } from "./_testing/tls.ts";
import { createHttpClient, type HttpClient } from "./http.ts";

const pods: ResourceRef = { group: "", version: "v1", resource: "pods" };
const configmaps: ResourceRef = { group: "", version: "v1", resource: "configmaps" };
const namespaces: ResourceRef = { group: "", version: "v1", resource: "namespaces" };
const deployments: ResourceRef = { group: "apps", version: "v1", resource: "deployments" };
const clusterroles: ResourceRef = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "clusterroles",
};

function obj(name: string): KubeObject {
  return { metadata: { name } };
}

describe("HttpClient requests", () => {
  let stub: Stub;
  let client: HttpClient;
  before(async () => {
    stub = await startStub();
    client = createHttpClient({ server: stub.url, token: "s3cret", userAgent: "test-agent/1" });
  });
  after(async () => {
    client.close();
    await stub.close();
  });

  const cases: {
    name: string;
    call: (c: ApiVerbs) => Promise<unknown>;
    method: string;
    path: string;
    query?: Record<string, string>;
  }[] = [
    {
      name: "get of a namespaced core object",
      call: (c) => c.get(pods, "ns1", "p1"),
      method: "GET",
      path: "/api/v1/namespaces/ns1/pods/p1",
    },
    {
      name: "get of a cluster-scoped object in a group",
      call: (c) => c.get(clusterroles, "", "admin"),
      method: "GET",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
    },
    {
      name: "get of a namespace object",
      call: (c) => c.get(namespaces, "", "default"),
      method: "GET",
      path: "/api/v1/namespaces/default",
    },
    {
      name: "get percent-encodes the name",
      call: (c) => c.get(configmaps, "ns", "a b/c"),
      method: "GET",
      path: "/api/v1/namespaces/ns/configmaps/a%20b%2Fc",
    },
    {
      name: "list across all namespaces with every list option",
      call: (c) =>
        c.list(pods, "", {
          labelSelector: "app=web,tier in (a,b)",
          fieldSelector: "spec.nodeName=n1",
          resourceVersion: "0",
          limit: 500,
          continue: "tok",
        }),
      method: "GET",
      path: "/api/v1/pods",
      query: {
        labelSelector: "app=web,tier in (a,b)",
        fieldSelector: "spec.nodeName=n1",
        resourceVersion: "0",
        limit: "500",
        continue: "tok",
      },
    },
    {
      name: "list in one namespace of a grouped resource",
      call: (c) => c.list(deployments, "prod"),
      method: "GET",
      path: "/apis/apps/v1/namespaces/prod/deployments",
    },
    {
      name: "create posts to the collection with write options",
      call: (c) =>
        c.create(configmaps, "ns", obj("x"), {
          dryRun: true,
          fieldManager: "kubectl",
          fieldValidation: "Strict",
        }),
      method: "POST",
      path: "/api/v1/namespaces/ns/configmaps",
      query: { dryRun: "All", fieldManager: "kubectl", fieldValidation: "Strict" },
    },
    {
      name: "create of a subresource posts to the parent object (pods/binding)",
      call: (c) => c.create({ ...pods, subresource: "binding" }, "ns", obj("p1")),
      method: "POST",
      path: "/api/v1/namespaces/ns/pods/p1/binding",
    },
    {
      name: "update puts to the object",
      call: (c) => c.update(configmaps, "ns", obj("x")),
      method: "PUT",
      path: "/api/v1/namespaces/ns/configmaps/x",
    },
    {
      name: "update of the status subresource",
      call: (c) => c.update({ ...deployments, subresource: "status" }, "ns", obj("d")),
      method: "PUT",
      path: "/apis/apps/v1/namespaces/ns/deployments/d/status",
    },
    {
      name: "server-side apply with force",
      call: (c) =>
        c.patch(deployments, "ns", "d", "apply", {}, { fieldManager: "me", force: true }),
      method: "PATCH",
      path: "/apis/apps/v1/namespaces/ns/deployments/d",
      query: { fieldManager: "me", force: "true" },
    },
    {
      name: "patch of the scale subresource",
      call: (c) => c.patch({ ...deployments, subresource: "scale" }, "ns", "d", "merge", {}),
      method: "PATCH",
      path: "/apis/apps/v1/namespaces/ns/deployments/d/scale",
    },
    {
      name: "delete of an object",
      call: (c) => c.delete(pods, "ns", "p1"),
      method: "DELETE",
      path: "/api/v1/namespaces/ns/pods/p1",
    },
    {
      name: "delete of a collection with a selector",
      call: (c) => c.deleteCollection(pods, "ns", { labelSelector: "app=web" }),
      method: "DELETE",
      path: "/api/v1/namespaces/ns/pods",
      query: { labelSelector: "app=web" },
    },
  ];
  for (const c of cases) {
    it(`sends ${c.name} as ${c.method} ${c.path}`, async () => {
      stub.handle((_req, res) => json(res, 200, { metadata: {} }));
      stub.requests.length = 0;
      await c.call(client);
      const r = stub.requests[0]!;
      assert.equal(r.method, c.method);
      assert.equal(r.url.pathname, c.path);
      assert.deepEqual(Object.fromEntries(r.url.searchParams), c.query ?? {});
      assert.equal(r.headers.authorization, "Bearer s3cret");
      assert.equal(r.headers["user-agent"], "test-agent/1");
      assert.equal(r.headers.accept, "application/json");
    });
  }

  const patchTypes: [PatchType, string][] = [
    ["json", "application/json-patch+json"],
    ["merge", "application/merge-patch+json"],
    ["strategic", "application/strategic-merge-patch+json"],
    ["apply", "application/apply-patch+yaml"],
  ];
  for (const [type, contentType] of patchTypes) {
    it(`sends a ${type} patch as ${contentType} with the patch as body`, async () => {
      stub.handle((_req, res) => json(res, 200, { metadata: {} }));
      stub.requests.length = 0;
      const patch =
        type === "json" ? [{ op: "add", path: "/data/a", value: "1" }] : { data: { a: "1" } };
      await client.patch(configmaps, "ns", "x", type, patch);
      const r = stub.requests[0]!;
      assert.equal(r.headers["content-type"], contentType);
      assert.deepEqual(JSON.parse(r.body), patch);
    });
  }

  it("sends objects as JSON and returns the decoded response", async () => {
    stub.handle((req, res) => json(res, 201, { ...JSON.parse(req.body), status: "made" }));
    stub.requests.length = 0;
    const out = await client.create(configmaps, "ns", {
      metadata: { name: "x" },
      data: { é: "ü" },
    });
    assert.equal(stub.requests[0]!.headers["content-type"], "application/json");
    assert.deepEqual(out, { metadata: { name: "x" }, data: { é: "ü" }, status: "made" });
  });

  it("sends delete options as a DeleteOptions body", async () => {
    stub.handle((_req, res) => json(res, 200, { kind: "Status", status: "Success" }));
    stub.requests.length = 0;
    await client.delete(pods, "ns", "p", {
      propagationPolicy: "Foreground",
      gracePeriodSeconds: 0,
      preconditions: { uid: "u1" },
      dryRun: true,
    });
    await client.delete(pods, "ns", "p");
    assert.deepEqual(JSON.parse(stub.requests[0]!.body), {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Foreground",
      gracePeriodSeconds: 0,
      preconditions: { uid: "u1" },
      dryRun: ["All"],
    });
    assert.deepEqual(JSON.parse(stub.requests[1]!.body), {
      kind: "DeleteOptions",
      apiVersion: "v1",
    });
    assert.equal(stub.requests[1]!.headers["content-type"], "application/json");
  });

  it("reuses one keep-alive connection for sequential requests", async () => {
    stub.handle((_req, res) => json(res, 200, { metadata: {} }));
    const before = stub.connections();
    await client.get(pods, "ns", "a");
    await client.get(pods, "ns", "b");
    await client.get(pods, "ns", "c");
    assert.ok(
      stub.connections() - before <= 1,
      `opened ${stub.connections() - before} connections`,
    );
  });
});

describe("HttpClient errors", () => {
  let stub: Stub;
  let client: HttpClient;
  before(async () => {
    stub = await startStub();
    client = createHttpClient({ server: stub.url });
  });
  after(async () => {
    client.close();
    await stub.close();
  });

  it("throws the server's Status as a StatusError with its reason, code and details", async () => {
    stub.handle((_req, res) => json(res, 404, notFound("pods", "", "p1").toStatus()));
    await assert.rejects(client.get(pods, "ns", "p1"), (e: unknown) => {
      assert.ok(isStatusError(e, "NotFound"));
      assert.equal(e.code, 404);
      assert.equal(e.message, 'pods "p1" not found');
      assert.deepEqual(e.details, { kind: "pods", name: "p1" });
      return true;
    });
  });

  const synthesized: { code: number; body: string; reason: string; message: RegExp }[] = [
    {
      code: 502,
      body: "<html>bad gateway</html>",
      reason: "InternalError",
      message: /bad gateway.*\(get pods p1\)/,
    },
    { code: 503, body: "", reason: "ServiceUnavailable", message: /currently unable to handle/ },
    {
      code: 404,
      body: "404 page not found",
      reason: "NotFound",
      message: /could not find the requested resource/,
    },
    {
      code: 409,
      body: '{"kind":"NotAStatus"}',
      reason: "Conflict",
      message: /reported a conflict/,
    },
  ];
  for (const s of synthesized) {
    it(`synthesizes a ${s.reason} Status from a ${s.code} whose body is not a Status`, async () => {
      stub.handle((_req, res: ServerResponse) => {
        res.writeHead(s.code, { "Content-Type": "text/plain" });
        res.end(s.body);
      });
      await assert.rejects(client.get(pods, "ns", "p1"), (e: unknown) => {
        assert.ok(e instanceof StatusError);
        assert.equal(e.code, s.code);
        assert.equal(e.reason, s.reason);
        assert.match(e.message, s.message);
        return true;
      });
    });
  }

  it("rejects with the network error when nothing listens", async () => {
    const closed = await startStub();
    const url = closed.url;
    await closed.close();
    const c = createHttpClient({ server: url });
    await assert.rejects(c.get(pods, "ns", "p"), (e: unknown) => {
      assert.ok(!(e instanceof StatusError));
      assert.match(String((e as { code?: string }).code), /ECONNREFUSED/);
      return true;
    });
    c.close();
  });

  it("keeps a path prefix of the server URL", async () => {
    stub.handle((_req, res) => json(res, 200, { metadata: {} }));
    stub.requests.length = 0;
    const c = createHttpClient({ server: `${stub.url}/k8s/clusters/c1/` });
    await c.get(pods, "ns", "p");
    assert.equal(stub.requests[0]!.url.pathname, "/k8s/clusters/c1/api/v1/namespaces/ns/pods/p");
    c.close();
  });
});

describe("HttpClient watch", () => {
  let stub: Stub;
  let client: HttpClient;
  before(async () => {
    stub = await startStub();
    client = createHttpClient({ server: stub.url });
  });
  after(async () => {
    client.close();
    await stub.close();
  });

  const line = (type: string, name: string, rv: string) =>
    `${JSON.stringify({ type, object: { kind: "Pod", metadata: { name, resourceVersion: rv } } })}\n`;

  it("sends watch=true with the watch options", async () => {
    stub.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end();
    });
    stub.requests.length = 0;
    const h = client.watch(
      pods,
      "ns",
      { resourceVersion: "5", allowWatchBookmarks: true, timeoutSeconds: 30, labelSelector: "a=b" },
      () => {},
    );
    await h.done;
    const r = stub.requests[0]!;
    assert.equal(r.url.pathname, "/api/v1/namespaces/ns/pods");
    assert.deepEqual(Object.fromEntries(r.url.searchParams), {
      labelSelector: "a=b",
      resourceVersion: "5",
      watch: "true",
      allowWatchBookmarks: "true",
      timeoutSeconds: "30",
    });
  });

  it("parses events line by line even when a line, or a character, is split across chunks", async () => {
    let res: ServerResponse | undefined;
    stub.handle((_req, r) => {
      res = r;
      r.writeHead(200, { "Content-Type": "application/json" });
      r.flushHeaders();
    });
    const events: WatchEvent[] = [];
    const h = client.watch(pods, "ns", {}, (e) => events.push(e));
    await waitFor(() => res !== undefined, { what: "request" });
    const second = Buffer.from(line("MODIFIED", "pö", "2"));
    const cut = second.indexOf(Buffer.from("ö")) + 1; // inside the two bytes of "ö"
    res!.write(Buffer.concat([Buffer.from(line("ADDED", "a", "1")), second.subarray(0, cut)]));
    // The first event arriving proves the first chunk was read before the rest was written.
    await waitFor(() => events.length === 1, { what: "first event" });
    res!.write(second.subarray(cut));
    res!.write(line("BOOKMARK", "", "3").slice(0, 10));
    await waitFor(() => events.length === 2, { what: "second event" });
    res!.end(line("BOOKMARK", "", "3").slice(10));
    await h.done;
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
      [
        ["ADDED", "a", "1"],
        ["MODIFIED", "pö", "2"],
        ["BOOKMARK", "", "3"],
      ],
    );
  });

  it("delivers an ERROR event as is and resolves done when the server ends the stream", async () => {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      code: 410,
      reason: "Expired",
      message: "too old resource version: 1 (5)",
    };
    stub.handle((_req, r) => {
      r.writeHead(200, { "Content-Type": "application/json" });
      r.end(`${JSON.stringify({ type: "ERROR", object: status })}\n`);
    });
    const events: WatchEvent[] = [];
    const h = client.watch(pods, "ns", { resourceVersion: "1" }, (e) => events.push(e));
    await h.done;
    assert.deepEqual(events, [{ type: "ERROR", object: status }]);
  });

  it("delivers a non-2xx answer as one ERROR event with the server's Status", async () => {
    stub.handle((_req, r) =>
      json(r, 410, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        code: 410,
        reason: "Expired",
        message: "gone",
      }),
    );
    const events: WatchEvent[] = [];
    await client.watch(pods, "ns", { resourceVersion: "1" }, (e) => events.push(e)).done;
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "ERROR");
    const s = events[0]!.object as unknown as { code: number; reason: string; message: string };
    assert.deepEqual([s.code, s.reason, s.message], [410, "Expired", "gone"]);
  });

  it("delivers a connection failure as one ERROR event with a 503 Status", async () => {
    const closed = await startStub();
    const url = closed.url;
    await closed.close();
    const c = createHttpClient({ server: url });
    const events: WatchEvent[] = [];
    await c.watch(pods, "ns", {}, (e) => events.push(e)).done;
    c.close();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "ERROR");
    assert.equal((events[0]!.object as unknown as { code: number }).code, 503);
  });

  it("stop() from inside onEvent on the stream's last event ends quietly", async () => {
    // Regression: aborting through an AbortSignal here raised an uncaught AbortError from a
    // socket already back in the keep-alive pool.
    stub.handle((_req, r) => {
      r.writeHead(200, { "Content-Type": "application/json" });
      r.end(line("ADDED", "a", "1"));
    });
    let calls = 0;
    const h = client.watch(pods, "ns", {}, () => {
      calls++;
      h.stop();
    });
    await h.done;
    await client.get(pods, "ns", "after").catch(() => undefined);
    assert.equal(calls, 1);
  });

  it("stop() aborts the request, resolves done and delivers nothing more", async () => {
    let res: ServerResponse | undefined;
    let serverSawClose = false;
    stub.handle((_req, r) => {
      res = r;
      r.on("close", () => {
        serverSawClose = true;
      });
      r.writeHead(200, { "Content-Type": "application/json" });
      r.write(line("ADDED", "a", "1"));
    });
    const events: WatchEvent[] = [];
    const h = client.watch(pods, "ns", {}, (e) => events.push(e));
    await waitFor(() => events.length === 1, { what: "first event" });
    h.stop();
    await h.done;
    res!.write(line("ADDED", "b", "2"));
    await waitFor(() => serverSawClose, { what: "server sees the connection close" });
    assert.equal(events.length, 1);
  });
});

describe("HttpClient over TLS", () => {
  const skip = hasOpenssl() ? false : "openssl is needed to make test certificates";
  it("verifies the server against the CA and presents the client certificate and token", {
    skip,
  }, async () => {
    const serverCert = selfSignedCert("127.0.0.1", ["127.0.0.1"]);
    const clientCert = selfSignedCert("system:admin");
    const stub = await startStub({
      cert: serverCert.cert,
      key: serverCert.key,
      ca: clientCert.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    stub.handle((_req, res) => json(res, 200, { metadata: { name: "ok" } }));
    const client = createHttpClient({
      server: stub.url,
      caCert: serverCert.cert,
      clientCert: clientCert.cert,
      clientKey: clientCert.key,
      token: "t",
    });
    try {
      const out = await client.get(pods, "ns", "p");
      assert.equal(out.metadata.name, "ok");
      assert.equal(stub.requests[0]!.headers.authorization, "Bearer t");

      const untrusting = createHttpClient({
        server: stub.url,
        clientCert: clientCert.cert,
        clientKey: clientCert.key,
      });
      await assert.rejects(untrusting.get(pods, "ns", "p"), /self.signed|unable to verify/i);
      untrusting.close();

      const insecure = createHttpClient({
        server: stub.url,
        insecureSkipTlsVerify: true,
        clientCert: clientCert.cert,
        clientKey: clientCert.key,
      });
      assert.equal((await insecure.get(pods, "ns", "p")).metadata.name, "ok");
      insecure.close();

      const anonymous = createHttpClient({ server: stub.url, caCert: serverCert.cert });
      await assert.rejects(
        anonymous.get(pods, "ns", "p"),
        "the server requires a client certificate",
      );
      anonymous.close();
    } finally {
      client.close();
      await stub.close();
    }
  });
});
