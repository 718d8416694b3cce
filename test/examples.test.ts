/**
 * The examples work as their READMEs say, in a cluster started by the test: the StatefulSet
 * example's pods get stable DNS names and keep their volume's data across a deletion.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";

const ROOT_ONLY =
  process.getuid?.() === 0
    ? false
    : "the example mounts each pod's volume at /www, which needs root (a mount namespace)";

function fetchText(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: ip, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
}

describe("examples/statefulset", { skip: ROOT_ONLY }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ runtime: "process", ephemeral: true, apiPort: 0, dnsPort: 0 });
  });
  after(async () => {
    await c?.stop();
  });

  const podIP = async (name: string) => {
    const pod = await c.client.get(REFS.pods, "default", name);
    const ready = (
      (pod.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []
    ).some((x) => x.type === "Ready" && x.status === "True");
    return ready && !pod.metadata.deletionTimestamp
      ? (pod.status as { podIP?: string }).podIP
      : undefined;
  };

  test("pods get stable names, their own bound volumes, and keep their data when deleted", async () => {
    const applied = await c.apply(join(import.meta.dirname, "..", "examples", "statefulset"));
    await c.waitReady(applied, { timeoutMs: 60_000 });
    for (const n of [0, 1, 2]) {
      const pvc = await c.client.get(REFS.persistentvolumeclaims, "default", `www-web-${n}`);
      assert.equal((pvc.status as { phase?: string }).phase, "Bound");
    }
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`${c.dnsAddress.host}:${c.dnsAddress.port}`]);
    const ip1 = await waitFor(() => podIP("web-1"), {
      what: "web-1 ready",
      timeoutMs: 30_000,
      retryErrors: true,
    });
    assert.deepEqual(await r.resolve4("web-1.nginx.default.svc.cluster.local"), [ip1]);
    const first = await waitFor(
      async () => {
        const t = await fetchText(ip1, 8080);
        return t.startsWith("web-1: web-1 first started at") ? t : undefined;
      },
      { what: "web-1 to serve its identity", timeoutMs: 30_000, retryErrors: true },
    );

    const uid = (await c.client.get(REFS.pods, "default", "web-1")).metadata.uid;
    await c.client.delete(REFS.pods, "default", "web-1");
    const again = await waitFor(
      async () => {
        const pod = await c.client.get(REFS.pods, "default", "web-1");
        if (pod.metadata.uid === uid) return undefined;
        return podIP("web-1");
      },
      { what: "a new web-1 to be ready", timeoutMs: 30_000, retryErrors: true },
    );
    assert.equal(
      await fetchText(again, 8080),
      first,
      "the new web-1 reads what the first one wrote",
    );
  });
});
