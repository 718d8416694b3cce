/**
 * Big lists stream (issue 8): a list bigger than the single-buffer limit goes out in chunked
 * batches over HTTPS, and real clients (kubectl, @kubernetes/client-node, our HttpClient) read it
 * whole and byte for byte. A reader that stalls or leaves mid-list does not stop the server
 * serving others.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import * as https from "node:https";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { createHttpClient } from "../src/client/http.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

// ~3 KB each: 2,000 pods are ~6 MB of JSON, above the 4 MB that is still sent in one piece.
const PODS = 2_000;
const NAMESPACES = ["ls-a", "ls-b"];

function pod(ns: string, i: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `p-${i}`,
      namespace: ns,
      labels: { app: "web", shard: String(i % 10) },
      annotations: { note: `pod ${i} “naïve” `.padEnd(2200, "x") },
    },
    spec: { containers: [{ name: "web", image: "registry.example/web:1.0", args: ["--port=80"] }] },
  } as KubeObject;
}

describe("a list of thousands of pods streams to real clients", () => {
  let api: TestApiServer;
  let core: k8s.CoreV1Api;

  before(async () => {
    api = await startTestApiServer();
    const r = api.server.registry;
    for (const ns of NAMESPACES) {
      r.createSync(REFS.namespaces, "", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
    }
    for (let i = 0; i < PODS; i++) {
      const ns = NAMESPACES[i % NAMESPACES.length] ?? "";
      r.createSync(REFS.pods, ns, pod(ns, i));
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(async () => {
    await api?.stop();
  });

  /** GET over HTTPS with the admin token; the response is handed over unread. */
  function request(path: string, accept = "application/json"): Promise<IncomingMessage> {
    const req = https.get(`${api.server.url}${path}`, {
      ca: api.pki.caCert,
      headers: { Authorization: `Bearer ${api.pki.token}`, Accept: accept },
    });
    return new Promise((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
    });
  }

  async function text(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  const expected = () => JSON.stringify(api.server.registry.listSync(REFS.pods, "", {}));

  test("the JSON list is chunked and byte for byte JSON.stringify of the list", async () => {
    const res = await request("/api/v1/pods");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.equal(res.headers["content-length"], undefined);
    const body = await text(res);
    assert.ok(body.length > 4 * 1024 * 1024, `the list is only ${body.length} bytes`);
    assert.equal(body, expected());
  });

  test("a PartialObjectMetadataList streams the metadata of every pod", async () => {
    const res = await request(
      "/api/v1/pods",
      "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    );
    assert.equal(res.statusCode, 200);
    const list = JSON.parse(await text(res)) as { kind: string; items: KubeObject[] };
    assert.equal(list.kind, "PartialObjectMetadataList");
    assert.equal(list.items.length, PODS);
    assert.equal(list.items[0]?.kind, "PartialObjectMetadata");
  });

  test("kubectl get --raw prints the whole list", { skip: NO_KUBECTL }, async () => {
    const r = await api.kubectl(["get", "--raw", "/api/v1/pods"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd(), expected());
  });

  test("kubectl get pods -A without chunking reads every pod, as JSON and as a table", {
    skip: NO_KUBECTL,
  }, async () => {
    const json = await api.kubectl(["get", "pods", "-A", "-o", "json", "--chunk-size=0"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { items: unknown[] }).items.length, PODS);
    const table = await api.kubectl(["get", "pods", "-A", "--chunk-size=0", "--no-headers"]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.trim().split("\n").length, PODS);
  });

  test("@kubernetes/client-node listPodForAllNamespaces reads every pod", async () => {
    const list = await core.listPodForAllNamespaces();
    assert.equal(list.items.length, PODS);
    const names = new Set(list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    assert.equal(names.size, PODS);
  });

  test("our HttpClient reads the whole list", async () => {
    const client = createHttpClient({
      server: api.server.url,
      caCert: api.pki.caCert,
      token: api.pki.token,
    });
    try {
      const list = await client.list(REFS.pods, "");
      assert.equal(list.items.length, PODS);
    } finally {
      client.close();
    }
  });

  test("a paused reader does not stop the server answering others, nor does one that leaves", async () => {
    const stalled = await request("/api/v1/pods");
    stalled.pause();
    const one = await core.readNamespacedPod({ name: "p-0", namespace: "ls-a" });
    assert.equal(one.metadata?.name, "p-0");
    const listed = await core.listNamespacedPod({ namespace: "ls-b", limit: 5 });
    assert.equal(listed.items.length, 5);
    stalled.on("error", () => {});
    stalled.destroy();
    await once(stalled, "close");

    const leaving = await request("/api/v1/pods");
    leaving.on("error", () => {});
    await once(leaving, "data");
    leaving.destroy();

    const res = await request("/api/v1/pods");
    assert.equal(await text(res), expected());
  });
});
