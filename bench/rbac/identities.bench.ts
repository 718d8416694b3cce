/**
 * What the components' own identities cost (issue #16): a Deployment of 100 replicas on a
 * simulated node, from create to 100 ready, in a cluster whose controllers, scheduler and node
 * agent act under their identities (every in-process call authorized) and in one where they use
 * the all-powerful client (`componentIdentities: false`); the runs alternate, and the ratio of the
 * medians is printed. Also the cost of one call: in-process GETs of a ConfigMap per second by the
 * all-powerful client and by the deployment controller's (authorized) client.
 *
 * Run: node --import tsx bench/rbac/identities.bench.ts [--quick]
 *
 * @module
 */
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { createInProcessClient, createRegistry } from "../../src/apiserver/index.ts";
import { controllerUser } from "../../src/cluster/identities.ts";
import { startCluster } from "../../src/index.ts";
import { openStore } from "../../src/store/index.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 1 : 3;
const REPLICAS = 100;

async function oneRun(identities: boolean): Promise<number> {
  const c = await startCluster({
    runtime: "simulated",
    name: `idbench-${identities ? "on" : "off"}`,
    ephemeral: true,
    apiPort: 0,
    dnsPort: 0,
    updateKubeconfig: false,
    componentIdentities: identities,
    log: () => {},
  });
  try {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench", namespace: "default" },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: "bench" } },
        template: {
          metadata: { labels: { app: "bench" } },
          spec: { containers: [{ name: "c", image: "bench", command: ["sleep", "3600"] }] },
        },
      },
    } as unknown as KubeObject;
    const started = performance.now();
    await c.client.create(REFS.deployments, "default", deployment);
    for (;;) {
      const d = await c.client.get(REFS.deployments, "default", "bench");
      if ((d.status as { readyReplicas?: number } | undefined)?.readyReplicas === REPLICAS) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - started;
  } finally {
    await c.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const on: number[] = [];
const off: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(await oneRun(false));
  on.push(await oneRun(true));
}
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
console.log(
  `Deployment of ${REPLICAS} → ready, ms (identities off): ${fmt(off)}; median ${median(off).toFixed(0)}`,
);
console.log(
  `Deployment of ${REPLICAS} → ready, ms (identities on):  ${fmt(on)}; median ${median(on).toFixed(0)}`,
);
console.log(`ratio on/off: ${(median(on) / median(off)).toFixed(2)}`);

const GETS = quick ? 20_000 : 200_000;
const { registry, rbac } = createRegistry(openStore({ backend: "memory" }));
await createInProcessClient(registry).create(REFS.configmaps, "default", {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "x", namespace: "default" },
} as KubeObject);
const getsPerSecond = async (client: ReturnType<typeof createInProcessClient>) => {
  await client.get(REFS.configmaps, "default", "x").catch(() => {});
  const t = performance.now();
  for (let i = 0; i < GETS; i++) await client.get(REFS.configmaps, "default", "x").catch(() => {});
  return GETS / ((performance.now() - t) / 1000);
};
const plain = await getsPerSecond(createInProcessClient(registry));
// The deployment controller may not get ConfigMaps: this measures a refusal (the dearest path).
const user = controllerUser("deployment");
const denied = await getsPerSecond(
  createInProcessClient(registry, { identity: { user, authorize: rbac.authorizeCall } }),
);
const kcm = { name: "system:kube-controller-manager", groups: ["system:authenticated"] };
const allowed = await getsPerSecond(
  createInProcessClient(registry, { identity: { user: kcm, authorize: rbac.authorizeCall } }),
);
console.log(
  `in-process GET/s: all-powerful ${plain.toFixed(0)}, allowed (kube-controller-manager) ${allowed.toFixed(0)} (${(allowed / plain).toFixed(2)}), refused ${denied.toFixed(0)}`,
);
rbac.stop();
