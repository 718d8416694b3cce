import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { QUOTA_RESYNC_MS, reconcileQuota } from "./reconcile.ts";

const quota = (status?: object) =>
  ({
    metadata: { name: "q", namespace: "ns", resourceVersion: "5" },
    spec: { hard: { pods: "10", "requests.cpu": "2000m", "count/deployments.apps": "3" } },
    ...(status ? { status } : {}),
  }) as KubeObject;
const pod = (cpu: string, phase = "Running") => ({
  metadata: { name: cpu },
  spec: { containers: [{ name: "c", resources: { requests: { cpu } } }] },
  status: { phase },
});

function deps(stored: KubeObject | undefined, objects: Record<string, object[] | undefined>) {
  const writes: KubeObject[] = [];
  return {
    writes,
    deps: {
      getQuota: async () => stored,
      listObjects: async (e: { group: string; resource: string }) =>
        objects[`${e.group}/${e.resource}`] as Record<string, unknown>[] | undefined,
      writeStatus: async (q: KubeObject) => {
        writes.push(q);
      },
      now: () => 0,
    },
  };
}

test("reconcileQuota writes hard from the spec and used recounted from the namespace", async () => {
  const { writes, deps: d } = deps(quota(), {
    "/pods": [pod("500m"), pod("250m"), pod("1", "Succeeded")],
    "apps/deployments": [{ metadata: { name: "d" } }],
  });
  assert.deepEqual(await reconcileQuota("ns/q", d), { requeueAfter: QUOTA_RESYNC_MS });
  assert.deepEqual(writes[0]?.status, {
    hard: { "count/deployments.apps": "3", pods: "10", "requests.cpu": "2" },
    used: { "count/deployments.apps": "1", pods: "2", "requests.cpu": "750m" },
  });
  assert.equal(writes[0]?.metadata.resourceVersion, "5", "written against the quota it read");
});

test("reconcileQuota leaves a quota whose status is current alone, and a deleted one", async () => {
  const current = quota({
    hard: { "count/deployments.apps": "3", pods: "10", "requests.cpu": "2" },
    used: { "count/deployments.apps": "0", pods: "1", "requests.cpu": "500m" },
  });
  const { writes, deps: d } = deps(current, { "/pods": [pod("0.5")], "apps/deployments": [] });
  await reconcileQuota("ns/q", d);
  assert.equal(writes.length, 0);
  const gone = deps(undefined, {});
  assert.deepEqual(await reconcileQuota("ns/q", gone.deps), {});
});
