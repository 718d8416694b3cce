import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import { createInProcessClient, createRegistry } from "../apiserver/index.ts";
import { openStore } from "../store/index.ts";
import { createTokenManager, requestTokenOf } from "./tokens.ts";
import { materializeVolumes, VolumeError } from "./volumes.ts";

// The node agent may not import the API server; this test wires a real one in, as a cluster does.
function cluster() {
  let now = Date.parse("2025-01-01T00:00:00Z");
  const { registry } = createRegistry(openStore({ backend: "memory" }), {
    now: () => new Date(now),
    serviceAccountAdmission: true,
  });
  const client = createInProcessClient(registry);
  const tokens = createTokenManager({
    request: requestTokenOf(client),
    now: () => now,
    random: () => 0,
  });
  return {
    registry,
    client,
    tokens,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => new Date(now),
  };
}

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;

test("a projected token volume holds a pod-bound token, ca.crt and namespace, and is renewed on refresh", async () => {
  const c = cluster();
  const dir = mkdtempSync(join(tmpdir(), "volumes-"));
  try {
    await c.client.create(REFS.serviceaccounts, "default", {
      metadata: { name: "default" },
    } as KubeObject);
    await c.client.create(REFS.configmaps, "default", {
      metadata: { name: "kube-root-ca.crt" },
      data: { "ca.crt": "CA" },
    } as KubeObject);
    const pod = (await c.client.create(REFS.pods, "default", {
      metadata: { name: "web" },
      spec: { containers: [{ name: "c", image: "x" }] },
    } as KubeObject)) as unknown as Pod;
    // A short-lived token, so that its renewal comes within the test's clock.
    const volume = pod.spec?.volumes?.[0];
    const sources = volume?.projected?.sources ?? [];
    const tokenSource = sources[0]?.serviceAccountToken;
    assert.ok(volume?.name?.startsWith("kube-api-access-") && tokenSource);
    tokenSource.expirationSeconds = 600;
    const src = {
      client: c.client,
      getConfigMap: async (ns: string, name: string) =>
        ((await c.client.get(REFS.configmaps, ns, name)).data ?? undefined) as
          | Record<string, string>
          | undefined,
      getSecret: async () => undefined,
      podIP: "127.244.0.2",
      hostIP: "127.0.0.1",
      allocatable: { cpu: 1, memory: 1 },
      dataDir: dir,
      tokens: c.tokens,
      now: c.now,
    };
    const mounted = await materializeVolumes(pod, dir, src);
    const path = mounted.get(volume?.name ?? "") ?? "";
    const read = (f: string) => readFileSync(join(path, f), "utf8");
    assert.equal(read("ca.crt"), "CA");
    assert.equal(read("namespace"), "default");
    assert.equal(readlinkSync(join(path, "token")), "..data/token");
    assert.equal(statSync(join(path, "token")).mode & 0o777, 0o644);
    const first = read("token");
    const k8s = claims(first)["kubernetes.io"] as { pod: { name: string; uid: string } };
    assert.deepEqual(k8s.pod, { name: "web", uid: pod.metadata?.uid });
    const firstData = readlinkSync(join(path, "..data"));

    c.advance(470_000); // 78 % of 600 s: the same token, nothing rewritten
    await materializeVolumes(pod, dir, src);
    assert.equal(read("token"), first);
    assert.equal(readlinkSync(join(path, "..data")), firstData);

    c.advance(12_000); // past 80 %: a new token, swapped in atomically
    await materializeVolumes(pod, dir, src);
    const second = read("token");
    assert.notEqual(second, first);
    assert.equal((claims(second).iat as number) - (claims(first).iat as number), 482);
    assert.notEqual(readlinkSync(join(path, "..data")), firstData);

    // The pod is gone: the next token request fails, which is the volume's error.
    c.advance(600_000);
    await c.client.delete(REFS.pods, "default", "web", { gracePeriodSeconds: 0 });
    await assert.rejects(
      materializeVolumes(pod, dir, src),
      (e) =>
        e instanceof VolumeError &&
        /^MountVolume\.SetUp failed for volume "kube-api-access-\w+" : failed to fetch token: pods "web" not found$/.test(
          e.message,
        ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
