/**
 * The node lifecycle controller against a real API server, with the real kubectl: three nodes
 * whose Leases the test renews (their kubelets), one of which stops; its conditions turn
 * Unknown after the grace period (1 s here), it is tainted unreachable (NoSchedule, NoExecute),
 * a pod tolerating that for 2 s is evicted with kube's DisruptionTarget condition while pods
 * tolerating it longer or forever stay; the taints go when its heartbeat comes back. `kubectl
 * cordon` puts the unschedulable taint and `uncordon` removes it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS, sub } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import type { ApiVerbs } from "../src/api/verbs.ts";
import { createInProcessClient } from "../src/apiserver/index.ts";
import { createInformerFactory, type InformerFactory } from "../src/client/factory.ts";
import type { StartedController } from "../src/controllers/index.ts";
import { startNodeLifecycleController } from "../src/controllers/nodelifecycle/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const stamp = () =>
  `${new Date().toISOString().slice(0, 19)}.${String(Date.now() % 1000).padStart(3, "0")}000Z`;
const NODES = ["n1", "n2", "n3"];

describe("node lifecycle", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  let client: ApiVerbs;
  let informers: InformerFactory;
  let controller: StartedController;
  const alive = new Set(NODES);
  let beating: NodeJS.Timeout;

  const renew = async (name: string) => {
    const lease = await client.get(REFS.leases, "kube-node-lease", name);
    await client.update(REFS.leases, "kube-node-lease", {
      ...lease,
      spec: { ...(lease.spec as object), renewTime: stamp() },
    } as KubeObject);
  };
  const postReady = (name: string) =>
    client.patch(sub(REFS.nodes, "status"), "", name, "merge", {
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "kubelet is posting ready status",
            lastHeartbeatTime: `${new Date().toISOString().slice(0, 19)}Z`,
            lastTransitionTime: `${new Date().toISOString().slice(0, 19)}Z`,
          },
        ],
      },
    });
  const getNode = async (name: string) => (await client.get(REFS.nodes, "", name)) as Node;
  const taintKeys = (n: Node) => (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
  const pod = (name: string, tolerationSeconds?: number): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: "n1",
      containers: [{ name: "c", image: "x" }],
      ...(tolerationSeconds !== -1
        ? {
            tolerations: [
              {
                key: "node.kubernetes.io/unreachable",
                operator: "Exists",
                effect: "NoExecute",
                ...(tolerationSeconds !== undefined ? { tolerationSeconds } : {}),
              },
            ],
          }
        : {}),
    },
  });

  before(async () => {
    api = await startTestApiServer();
    client = createInProcessClient(api.server.registry);
    for (const name of NODES) {
      await client.create(REFS.nodes, "", { apiVersion: "v1", kind: "Node", metadata: { name } });
      await postReady(name);
      await client.create(REFS.leases, "kube-node-lease", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "kube-node-lease" },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: stamp() },
      });
    }
    beating = setInterval(() => {
      for (const n of alive) void renew(n).catch(() => {});
    }, 200);
    informers = createInformerFactory(
      createInProcessClient(api.server.registry, { shareReads: true }),
    );
    controller = startNodeLifecycleController(
      { client, informers, now: () => new Date() },
      { graceMs: 1000 },
    );
    informers.start();
    await informers.waitForSync();
  });

  after(async () => {
    clearInterval(beating);
    await controller?.stop();
    await informers?.stop();
    await api?.stop();
  });

  test("kubectl cordon taints the node unschedulable and uncordon removes it", async () => {
    const c = await api.kubectl(["cordon", "n2"]);
    assert.equal(c.code, 0, c.stderr);
    await waitFor(
      async () =>
        taintKeys(await getNode("n2")).join() === "node.kubernetes.io/unschedulable:NoSchedule",
      {
        what: "n2 tainted unschedulable",
      },
    );
    const u = await api.kubectl(["uncordon", "n2"]);
    assert.equal(u.code, 0, u.stderr);
    await waitFor(async () => taintKeys(await getNode("n2")).length === 0, {
      what: "n2 untainted",
    });
  });

  test("a node that stops its heartbeat turns Unknown, is tainted, and its pods go as tolerated", async () => {
    await client.create(REFS.pods, "default", pod("short", 2));
    await client.create(REFS.pods, "default", pod("forever"));
    await client.create(REFS.pods, "default", pod("defaulted", -1)); // admission adds 300 s
    alive.delete("n1");
    const down = await waitFor(
      async () => {
        const n = await getNode("n1");
        return taintKeys(n).length === 2 ? n : undefined;
      },
      { what: "n1 tainted", timeoutMs: 20_000 },
    );
    const ready = down.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "Unknown");
    assert.equal(ready?.reason, "NodeStatusUnknown");
    assert.equal(ready?.message, "Kubelet stopped posting node status.");
    assert.deepEqual(taintKeys(down), [
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/unreachable:NoSchedule",
    ]);
    assert.ok(down.spec?.taints?.find((t) => t.effect === "NoExecute")?.timeAdded);
    const evicted = await waitFor(
      async () => {
        const p = (await client.get(REFS.pods, "default", "short")) as Pod;
        return p.metadata?.deletionTimestamp ? p : undefined;
      },
      { what: "short evicted", timeoutMs: 20_000 },
    );
    const target = evicted.status?.conditions?.find((c) => c.type === "DisruptionTarget");
    assert.equal(target?.reason, "DeletionByTaintManager");
    const taintedAt = Date.parse(
      down.spec?.taints?.find((t) => t.effect === "NoExecute")?.timeAdded ?? "",
    );
    assert.ok(
      Date.parse(evicted.metadata?.deletionTimestamp ?? "") - taintedAt >= 1000,
      "not before its tolerationSeconds",
    );
    for (const name of ["forever", "defaulted"]) {
      const p = (await client.get(REFS.pods, "default", name)) as Pod;
      assert.equal(p.metadata?.deletionTimestamp, undefined, `${name} stays`);
    }
    // The healthy nodes are untouched.
    assert.deepEqual(taintKeys(await getNode("n2")), []);
    // The kubelet comes back: Ready again, the taints go.
    alive.add("n1");
    await postReady("n1");
    await waitFor(async () => taintKeys(await getNode("n1")).length === 0, {
      what: "n1 untainted",
      timeoutMs: 20_000,
    });
  });
});
