/**
 * CRD conversion webhooks end to end (issue #16): a CRD with v1 (stored) and v2 whose
 * `spec.conversion.strategy` is Webhook, an HTTPS conversion webhook in this test (its own CA
 * and certificate) that renames `spec.cronSpec` (v1) to `spec.schedule` (v2) and back; the real
 * kubectl writes and reads in both versions, watches v2 with client-node, and sees kube's error
 * when the webhook is down.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/_testing/index.ts";
import { ensurePki } from "../src/apiserver/pki.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const GROUP = "stable.example.com";

type Obj = { apiVersion: string; spec?: Record<string, unknown> } & Record<string, unknown>;

/** v1 ↔ v2: `spec.cronSpec` is `spec.schedule` in v2. */
function convert(obj: Obj, to: string): Obj {
  const out = structuredClone(obj);
  out.apiVersion = to;
  const spec = out.spec ?? {};
  if (to.endsWith("/v2") && "cronSpec" in spec) {
    spec.schedule = spec.cronSpec;
    delete spec.cronSpec;
  }
  if (to.endsWith("/v1") && "schedule" in spec) {
    spec.cronSpec = spec.schedule;
    delete spec.schedule;
  }
  return out;
}

const crd = (port: number, caBundle: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: crontabs.${GROUP} }
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: crontabs, singular: crontab, kind: CronTab }
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig: { url: "https://127.0.0.1:${port}/convert", caBundle: ${caBundle} }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { cronSpec: { type: string }, image: { type: string } } }
    - name: v2
      served: true
      storage: false
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { schedule: { type: string }, image: { type: string } } }
`;

describe("CRD conversion webhooks with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  let server: Server;
  let port = 0;
  let dir = "";
  let calls = 0;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r.stdout;
  };

  before(async () => {
    api = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), "loopkube-conversion-"));
    const pki = await ensurePki(join(dir, "pki"), { clusterName: "conv", hosts: ["127.0.0.1"] });
    server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls++;
        const review = JSON.parse(Buffer.concat(chunks).toString());
        const { uid, desiredAPIVersion, objects } = review.request;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "ConversionReview",
            response: {
              uid,
              result: { status: "Success" },
              convertedObjects: objects.map((o: Obj) => convert(o, desiredAPIVersion)),
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    await ok(["apply", "-f", "-"], crd(port, Buffer.from(pki.caCert).toString("base64")));
    await ok(["wait", "--for=condition=Established", `crd/crontabs.${GROUP}`, "--timeout=20s"]);
  });
  after(async () => {
    server?.closeAllConnections();
    server?.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("an object written as v2 is stored as v1 and reads back in either version", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: ${GROUP}/v2
kind: CronTab
metadata: { name: nightly, namespace: default }
spec: { schedule: "0 3 * * *", image: backup }
`,
    );
    const v2 = JSON.parse(await ok(["get", `crontabs.v2.${GROUP}`, "nightly", "-o", "json"]));
    assert.equal(v2.apiVersion, `${GROUP}/v2`);
    assert.deepEqual(v2.spec, { schedule: "0 3 * * *", image: "backup" });
    const v1 = JSON.parse(await ok(["get", `crontabs.v1.${GROUP}`, "nightly", "-o", "json"]));
    assert.equal(v1.apiVersion, `${GROUP}/v1`);
    assert.deepEqual(v1.spec, { cronSpec: "0 3 * * *", image: "backup" });
    assert.ok(calls > 0);
    // A list in v2, and a merge patch in v2.
    await ok([
      "patch",
      `crontabs.v2.${GROUP}`,
      "nightly",
      "--type=merge",
      "-p",
      '{"spec":{"schedule":"0 4 * * *"}}',
    ]);
    const list = JSON.parse(await ok(["get", `crontabs.v2.${GROUP}`, "-o", "json"]));
    assert.deepEqual(
      list.items.map((i: Obj) => i.spec),
      [{ schedule: "0 4 * * *", image: "backup" }],
    );
  });

  test("a watch in v2 gets its events converted, in order", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    const seen: Array<{ type: string; schedule: unknown }> = [];
    const req = await new k8s.Watch(kc).watch(
      `/apis/${GROUP}/v2/namespaces/default/crontabs`,
      {},
      (type, obj: Obj) => {
        if (type !== "BOOKMARK") seen.push({ type, schedule: obj.spec?.schedule });
      },
      () => {},
    );
    try {
      await waitFor(() => seen.length >= 1, { what: "the ADDED event", timeoutMs: 10_000 });
      await ok([
        "patch",
        `crontabs.v1.${GROUP}`,
        "nightly",
        "--type=merge",
        "-p",
        '{"spec":{"cronSpec":"0 5 * * *"}}',
      ]);
      await waitFor(() => seen.length >= 2, { what: "the MODIFIED event", timeoutMs: 10_000 });
      assert.deepEqual(seen.slice(0, 2), [
        { type: "ADDED", schedule: "0 4 * * *" },
        { type: "MODIFIED", schedule: "0 5 * * *" },
      ]);
    } finally {
      req.abort();
    }
  });

  test("with the webhook down a read in the other version is kube's conversion error", async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // A change through the stored version needs no webhook; reading it as v2 does.
    await ok([
      "patch",
      `crontabs.v1.${GROUP}`,
      "nightly",
      "--type=merge",
      "-p",
      '{"spec":{"image":"restore"}}',
    ]);
    const r = await kubectl(["get", `crontabs.v2.${GROUP}`, "nightly"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /Internal error occurred: conversion webhook for stable\.example\.com\/v1, Kind=CronTab failed: Post "https:\/\/127\.0\.0\.1:\d+\/convert\?timeout=30s": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
    );
    // The stored version needs no conversion.
    await ok(["get", `crontabs.v1.${GROUP}`, "nightly"]);
  });
});
