/**
 * examples/brokers works as its README says, with the README's client: three brokers find each
 * other through the headless Service's DNS records, a message sent to broker-0 by its stable name
 * is read back from broker-2, and a deleted broker-1 comes back under the same name, rejoins its
 * peers and catches up. As root the pods resolve names through their own resolv.conf; otherwise
 * the test applies the example's without-root ConfigMap, so it runs either way.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, run as kubectlRun, NO_KUBECTL } from "./_kubectl.ts";

const ROOT = join(import.meta.dirname, "..");
const EXAMPLE = join(ROOT, "examples", "brokers");
const CLIENT = join(EXAMPLE, "client.js");
const IS_ROOT = process.getuid?.() === 0;

const run = promisify(execFile);
const fqdn = (n: number) => `broker-${n}.broker.default.svc.cluster.local`;

interface BrokerStatus {
  broker: string;
  joined: boolean;
  peers: string[];
  messages: number;
}

describe("examples/brokers", () => {
  let c: Cluster;
  let dns: string;
  const client = async (...args: string[]) =>
    (await run(process.execPath, [CLIENT, "--dns", dns, ...args], { cwd: ROOT })).stdout;
  const status = async (n: number) => JSON.parse(await client("status", fqdn(n))) as BrokerStatus;
  const podOf = (n: number) => c.client.get(REFS.pods, "default", `broker-${n}`);

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    dns = `${c.dnsAddress.host}:${c.dnsAddress.port}`;
    if (!IS_ROOT) {
      // No sandbox, so no resolv.conf of the pods' own: the README's without-root ConfigMap,
      // pointed at this cluster's DNS port.
      await c.apply([
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "broker-dns", namespace: "default" },
          data: { server: dns },
        },
      ]);
    }
    const applied = await c.apply(EXAMPLE);
    await c.waitReady(applied, { timeoutMs: 60_000 });
  });
  after(async () => {
    await c?.stop();
  });

  test("each broker finds the other two by their stable names", async () => {
    for (const n of [0, 1, 2]) {
      const others = [0, 1, 2].filter((x) => x !== n).map(fqdn);
      // broker-0 joined alone (it started first) and connects to later brokers on its next
      // look at DNS, about a second on.
      const s = await waitFor(
        async () => {
          const s = await status(n);
          return s.peers.length === 2 ? s : undefined;
        },
        {
          what: `broker-${n} to be connected to both peers`,
          timeoutMs: 30_000,
          intervalMs: 100,
          retryErrors: true,
        },
      );
      assert.equal(s.broker, fqdn(n));
      assert.equal(s.joined, true);
      assert.deepEqual(s.peers, others);
    }
  });

  test("kubectl logs shows broker-2 joining with both peers by name", {
    skip: NO_KUBECTL,
  }, async () => {
    const r = await kubectlRun(KUBECTL ?? "kubectl", [
      "--kubeconfig",
      c.kubeconfigPath,
      "logs",
      "broker-2",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout.includes(`joined as ${fqdn(2)}; peers: ${fqdn(0)}, ${fqdn(1)}`),
      `unexpected log:\n${r.stdout}`,
    );
  });

  test("a message sent to broker-0 is read back from broker-2", async () => {
    const value = `hello ${randomUUID()}`;
    const sent = await client("send", fqdn(0), value);
    assert.match(sent, /^stored on broker-0\.broker\.default\.svc\.cluster\.local, /);
    assert.match(sent, /broker-2\.broker\.default\.svc\.cluster\.local/);
    const read = await client("read", fqdn(2));
    assert.match(read, /^broker-2\.broker\.default\.svc\.cluster\.local holds \d+ message\(s\):/);
    assert.ok(
      read.includes(`  ${value}    (sent to ${fqdn(0)})`),
      `broker-2's log lacks the message:\n${read}`,
    );
  });

  test("a deleted broker-1 comes back under its name, rejoins its peers and catches up", async () => {
    const value = `before the deletion ${randomUUID()}`;
    await client("send", fqdn(2), value);
    const uid = (await podOf(1)).metadata.uid;
    await c.client.delete(REFS.pods, "default", "broker-1");
    await waitFor(
      async () => {
        const pod = await podOf(1);
        const ready = (
          (pod.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []
        ).some((x) => x.type === "Ready" && x.status === "True");
        return pod.metadata.uid !== uid && ready && !pod.metadata.deletionTimestamp
          ? true
          : undefined;
      },
      { what: "a new broker-1 to be ready", timeoutMs: 30_000, intervalMs: 100, retryErrors: true },
    );

    const back = await status(1);
    assert.equal(back.joined, true);
    assert.deepEqual(back.peers, [fqdn(0), fqdn(2)]);
    assert.ok(
      (await client("read", fqdn(1))).includes(value),
      "the new broker-1 copied the log from its peers",
    );
    for (const n of [0, 2]) {
      await waitFor(
        async () => {
          const s = await status(n);
          return s.peers.includes(fqdn(1)) ? true : undefined;
        },
        {
          what: `broker-${n} to reconnect to broker-1 by name`,
          timeoutMs: 30_000,
          intervalMs: 100,
          retryErrors: true,
        },
      );
    }
  });
});
