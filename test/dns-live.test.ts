/**
 * Cluster DNS against a running cluster with real pods (issue 5's live acceptance): Node's
 * resolver (c-ares) sees the headless Service resolve to exactly the ready pod IPs, a pod made
 * unready leaves the answer within about one probe period and comes back after, and SRV and PTR
 * answers name the pods.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "http-server.js");

function fetchText(ip: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: ip, port: 8080, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
}

const manifests: KubeObject[] = [
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "peers" },
    spec: { clusterIP: "None", selector: { app: "peers" }, ports: [{ name: "http", port: 8080 }] },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "peers" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "peers" } },
      template: {
        metadata: { labels: { app: "peers" } },
        spec: {
          containers: [
            {
              name: "server",
              image: "node",
              command: ["node", FIXTURE],
              ports: [{ name: "http", containerPort: 8080 }],
              env: [
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              readinessProbe: {
                httpGet: { path: "/ready", port: "http" },
                periodSeconds: 1,
                failureThreshold: 1,
              },
            },
          ],
        },
      },
    },
  },
];

describe("cluster DNS with real pods", () => {
  let c: Cluster;
  let r: Resolver;
  before(async () => {
    c = await startCluster({ runtime: "process", ephemeral: true, apiPort: 0, dnsPort: 0 });
    r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`${c.dnsAddress.host}:${c.dnsAddress.port}`]);
  });
  after(async () => {
    await c?.stop();
  });

  const readyIPs = async () =>
    (await c.client.list(REFS.pods, "default", { labelSelector: "app=peers" })).items
      .filter((p) =>
        (
          (p.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []
        ).some((x) => x.type === "Ready" && x.status === "True"),
      )
      .map((p) => (p.status as { podIP: string }).podIP)
      .sort();
  const answer = async () =>
    (await r.resolve4("peers.default.svc.cluster.local").catch(() => [] as string[])).sort();

  test("the headless name resolves to exactly the ready pods and follows readiness", async (t) => {
    if (!c.hasNodeAgent) {
      t.skip("no node agent in this build: pods cannot run");
      return;
    }
    await c.apply(manifests);
    const ips = await waitFor(
      async () => {
        const ready = await readyIPs();
        return ready.length === 3 ? ready : undefined;
      },
      { what: "three ready pods", retryErrors: true },
    );
    await waitFor(async () => ((await answer()).join() === ips.join() ? true : undefined), {
      what: "DNS to list the three pods",
      retryErrors: true,
    });

    // Make one pod unready through its own readiness endpoint: it leaves the answer.
    const gone = ips[1]!;
    await fetchText(gone, "/toggle-ready");
    const t0 = Date.now();
    await waitFor(async () => (!(await answer()).includes(gone) ? true : undefined), {
      what: `${gone} to leave the answer`,
      retryErrors: true,
    });
    const leftAfterMs = Date.now() - t0;
    assert.deepEqual(
      await answer(),
      ips.filter((ip) => ip !== gone),
    );
    // The probe runs every second with failureThreshold 1; allow the loaded test machine slack.
    assert.ok(leftAfterMs < 10_000, `left the answer after ${leftAfterMs} ms`);

    await fetchText(gone, "/toggle-ready");
    await waitFor(async () => ((await answer()).join() === ips.join() ? true : undefined), {
      what: `${gone} to come back`,
      retryErrors: true,
    });
  });

  test("SRV names each pod and PTR maps a pod IP back to its name", async (t) => {
    if (!c.hasNodeAgent) {
      t.skip("no node agent in this build: pods cannot run");
      return;
    }
    const srv = await r.resolveSrv("_http._tcp.peers.default.svc.cluster.local");
    const ips = await readyIPs();
    assert.equal(srv.length, 3);
    for (const s of srv) assert.equal(s.port, 8080);
    // Each pod by its dashed IP, as CoreDNS names endpoints without a hostname.
    assert.deepEqual(
      srv.map((s) => s.name).sort(),
      ips.map((ip) => `${ip.replaceAll(".", "-")}.peers.default.svc.cluster.local`).sort(),
    );
    const names = await r.reverse(ips[0]!);
    assert.deepEqual(names, [`${ips[0]!.replaceAll(".", "-")}.peers.default.svc.cluster.local`]);
  });
});
