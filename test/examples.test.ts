/**
 * The examples work as their READMEs say, in a cluster started by the test: the StatefulSet
 * example's pods get stable DNS names and keep their volume's data across a deletion; each
 * example's code.yaml ConfigMap holds the very files beside it; and the quickstart becomes ready
 * offline under the default runtime (`auto`): its image's registry does not answer (a closed
 * loopback port stands in for an unreachable registry: nothing leaves the machine), so its
 * pods run their command from the host, each with a Warning `ImageUnavailable`, while a pod
 * without a command waits in ErrImagePull as on kube.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { readManifests } from "../src/cluster/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { NO_OCI } from "./_busybox.ts";

const EXAMPLES = join(import.meta.dirname, "..", "examples");

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

describe("the examples' code.yaml", () => {
  for (const name of ["quickstart", "statefulset", "brokers", "operator"]) {
    test(`${name}: its ConfigMap holds the .js files beside it, as ES modules`, () => {
      const dir = join(EXAMPLES, name);
      const [configMap] = readManifests([join(dir, "code.yaml")]).map((m) => m.object);
      const data = (configMap?.data ?? {}) as Record<string, string>;
      assert.equal(data["package.json"], '{"type": "module"}\n');
      for (const [key, text] of Object.entries(data)) {
        if (key === "package.json") continue;
        assert.equal(text, readFileSync(join(dir, key), "utf8"), `${name}/code.yaml ${key}`);
      }
      const used = readdirSync(dir).filter((f) => f.endsWith(".js") && f !== "client.js");
      assert.deepEqual(
        Object.keys(data)
          .filter((k) => k.endsWith(".js"))
          .sort(),
        used.sort(),
      );
    });
  }
});

/** A loopback port nothing listens on: a registry there is unreachable (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("the quickstart offline under the default runtime (auto)", () => {
  let c: Cluster;
  let dir: string;
  let registry: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-offline-"));
    registry = `127.0.0.1:${await closedPort()}`;
    c = await startCluster({
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      imageStore: join(dir, "images"),
    });
  });
  after(async () => {
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("becomes ready, its pods running their command from the host with one Warning each", async () => {
    // The quickstart as it is, its image served by a registry that does not answer.
    const objects = readManifests([join(EXAMPLES, "quickstart")]).map(({ object }) => {
      const spec = (object.spec as { template?: { spec?: Pod["spec"] } })?.template?.spec;
      for (const container of spec?.containers ?? [])
        container.image = `${registry}/library/${container.image}`;
      return object as KubeObject;
    });
    await c.waitReady(await c.apply(objects), { timeoutMs: 90_000 });
    const pods = await c.client.list(REFS.pods, "default", { labelSelector: "app=my-app" });
    assert.equal(pods.items.length, 3);
    for (const pod of pods.items) {
      const ip = (pod.status as { podIP?: string }).podIP ?? "";
      assert.match(await fetchText(ip, 8080), new RegExp(`^hello from ${pod.metadata.name} `));
    }
    if (NO_OCI) return; // auto is `process` here from the start: nothing to fall back from
    const events = await c.client.list(REFS.events, "default");
    const warned = events.items.filter(
      (e) => (e as { reason?: string }).reason === "ImageUnavailable",
    );
    assert.deepEqual(
      warned.map((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name).sort(),
      pods.items.map((p) => p.metadata.name).sort(),
    );
    assert.match(
      (warned[0] as { message?: string }).message ?? "",
      new RegExp(
        `^image "${registry}/library/node:22-alpine" cannot be pulled: registry ${registry} unreachable \\(.*\\); running the containers' commands from the host \\(process runtime\\)$`,
      ),
    );
  });

  test("a pod without a command waits in ErrImagePull, as on kube", { skip: NO_OCI }, async () => {
    await c.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "no-command" },
      spec: { containers: [{ name: "app", image: `${registry}/library/node:22-alpine` }] },
    } as KubeObject);
    const reason = await waitFor(
      async () => {
        const pod = await c.client.get(REFS.pods, "default", "no-command");
        const waiting = (pod.status as Pod["status"])?.containerStatuses?.[0]?.state?.waiting;
        return waiting?.reason === "ErrImagePull" || waiting?.reason === "ImagePullBackOff"
          ? waiting.reason
          : undefined;
      },
      { what: "no-command to wait for its image", timeoutMs: 30_000 },
    );
    assert.ok(reason);
  });
});
