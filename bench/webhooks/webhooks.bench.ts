/**
 * What an admission webhook adds to a write (issue #16): ConfigMap creates, one at a time,
 * through the registry's asynchronous write path (the one the HTTP handler and the in-process
 * client take), without a webhook, with a validating webhook that allows, and with a mutating
 * webhook that adds a label (JSONPatch). The webhook is an HTTPS server on 127.0.0.1 in a worker
 * thread (its own event loop, as a webhook process would have); the CA and certificate are made
 * here. Figures: p50 and p99 per create, and the ratio to the create without a webhook.
 *
 * Run: node --import tsx bench/webhooks/webhooks.bench.ts [--quick]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { createRegistry } from "../../src/apiserver/index.ts";
import { ensurePki } from "../../src/apiserver/pki.ts";
import { openStore } from "../../src/store/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const quick = process.argv.includes("--quick");
const CREATES = quick ? 300 : 2000;
const result = startResult("webhooks", { quick });

const SERVER = `
const { createServer } = require("node:https");
const { parentPort, workerData } = require("node:worker_threads");
const patch = Buffer.from(JSON.stringify([{ op: "add", path: "/metadata/labels", value: { mutated: "yes" } }])).toString("base64");
const server = createServer({ cert: workerData.cert, key: workerData.key }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const review = JSON.parse(Buffer.concat(chunks).toString());
    const response = { uid: review.request.uid, allowed: true };
    if (req.url.startsWith("/mutate")) Object.assign(response, { patchType: "JSONPatch", patch });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response }));
  });
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
`;

const dir = mkdtempSync(join(tmpdir(), "loopkube-bench-hooks-"));
const pki = await ensurePki(join(dir, "pki"), { clusterName: "bench", hosts: ["127.0.0.1"] });
const worker = new Worker(SERVER, {
  eval: true,
  workerData: { cert: pki.serverCert, key: pki.serverKey },
});
const port = await new Promise<number>((resolve) => worker.once("message", resolve));
const caBundle = Buffer.from(pki.caCert).toString("base64");

const ADMISSION = { group: "admissionregistration.k8s.io", version: "v1" };
const rules = [
  { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
];
const hook = (name: string, path: string) => ({
  name,
  clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
  rules,
  sideEffects: "None",
  admissionReviewVersions: ["v1"],
});

async function measure(kind: "none" | "validating" | "mutating"): Promise<number[]> {
  const store = openStore({ backend: "memory" });
  const { registry, webhooks, custom } = createRegistry(store);
  if (kind === "validating") {
    await registry.create({ ...ADMISSION, resource: "validatingwebhookconfigurations" }, "", {
      metadata: { name: "allow" },
      webhooks: [hook("allow.example.com", "/validate")],
    } as unknown as KubeObject);
  }
  if (kind === "mutating") {
    await registry.create({ ...ADMISSION, resource: "mutatingwebhookconfigurations" }, "", {
      metadata: { name: "label" },
      webhooks: [hook("label.example.com", "/mutate")],
    } as unknown as KubeObject);
  }
  const create = (i: number) =>
    registry.create(REFS.configmaps, "default", {
      metadata: { name: `cm-${i}` },
      data: { a: "b" },
    } as KubeObject);
  for (let i = 0; i < 50; i++) await create(-1 - i); // warm up (and open the connection)
  const times: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const t = performance.now();
    const created = await create(i);
    times.push(performance.now() - t);
    if (kind === "mutating" && created.metadata.labels?.mutated !== "yes")
      throw new Error("not mutated");
  }
  webhooks.stop();
  custom.stop();
  return times;
}

/** The anchor: a bare HTTPS POST of a review to the same server, kept-alive, no API server. */
async function bareRoundTrip(): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, ca: pki.caCert });
  const body = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: "u", object: { metadata: { name: "cm" }, data: { a: "b" } } },
  });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, method: "POST", path: "/validate", agent },
        (res) => {
          res.resume();
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  for (let i = 0; i < 50; i++) await post();
  const times: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const t = performance.now();
    await post();
    times.push(performance.now() - t);
  }
  agent.destroy();
  return times;
}

const lines: Line[] = [];
const bare = await bareRoundTrip();
lines.push({
  measure: "bare HTTPS POST round trip to the webhook server (kept-alive, same machine)",
  value: Number(percentile(bare, 50).toFixed(3)),
  unit: "ms",
  better: "lower",
  detail: `p99 ${percentile(bare, 99).toFixed(3)} ms (what the network part of a call costs here)`,
});
const base = await measure("none");
const baseP50 = percentile(base, 50);
lines.push({
  measure: "ConfigMap create p50, no webhook (registry, async path)",
  value: Number(baseP50.toFixed(3)),
  unit: "ms",
  better: "lower",
  detail: `p99 ${percentile(base, 99).toFixed(3)} ms, ${CREATES} creates`,
});
for (const kind of ["validating", "mutating"] as const) {
  const times = await measure(kind);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  console.log(JSON.stringify({ kind, p50, p99, baseP50, ratio: p50 / baseP50 }));
  lines.push({
    measure: `ConfigMap create p50 with a ${kind} webhook (HTTPS, 127.0.0.1, kept-alive)`,
    value: Number(p50.toFixed(3)),
    unit: "ms",
    better: "lower",
    detail: `p99 ${p99.toFixed(3)} ms; added p50 ${(p50 - baseP50).toFixed(3)} ms, p99 ${(p99 - percentile(base, 99)).toFixed(3)} ms; ${(p50 / baseP50).toFixed(1)}× the create without`,
    anchor: { value: baseP50, source: "measured: the same create without a webhook, same run" },
  });
}
await worker.terminate();
rmSync(dir, { recursive: true, force: true });
console.log(`wrote ${result.done(lines)}`);
