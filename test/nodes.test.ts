/**
 * `startCluster({ nodes: 3, runtime: "simulated" })` end to end: three Nodes with their Leases
 * and 110-pod capacity, a Deployment spread over them by the scheduler, each pod's IP inside its
 * node's own pod CIDR, pods placed by their CPU requests ("Insufficient cpu" when none has
 * enough left), and kube's "Too many pods" when the pods outnumber the nodes' capacity.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { cidrContains, parseCidr } from "../src/api/cidr.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, ClusterError, startCluster } from "../src/index.ts";

const NS = "default";

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "simulated" }] },
      },
    },
  };
}

const podsOf = async (c: Cluster, app: string) =>
  (await c.client.list(REFS.pods, NS, { labelSelector: `app=${app}` })).items as Array<
    Pod & KubeObject
  >;

describe("a cluster of three simulated nodes", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({
      name: "nodes",
      ephemeral: true,
      runtime: "simulated",
      nodes: 3,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
  });
  after(() => c?.stop());

  test("registers nodes, nodes-2 and nodes-3, each with a Lease, 110 pods and its own pod CIDR", async () => {
    const nodes = (await c.client.list(REFS.nodes, "")).items as Array<Node & KubeObject>;
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ["nodes", "nodes-2", "nodes-3"]);
    for (const n of nodes) {
      assert.equal(n.status?.allocatable?.pods, "110");
      const ready = n.status?.conditions?.find((x) => x.type === "Ready");
      assert.equal(ready?.status, "True");
    }
    assert.equal(new Set(nodes.map((n) => n.spec?.podCIDR)).size, 3);
    // Each node's block lies in the range the cluster was given.
    const range = parseCidr(c.addresses.podCidr);
    for (const n of nodes) assert.ok(cidrContains(range, n.spec?.podCIDR?.split("/")[0] ?? ""));
    const leases = await waitFor(
      async () => {
        const l = (await c.client.list(REFS.leases, "kube-node-lease")).items;
        return l.length === 3 ? l : undefined;
      },
      { what: "three leases" },
    );
    assert.deepEqual(leases.map((l) => l.metadata.name).sort(), ["nodes", "nodes-2", "nodes-3"]);
  });

  test("spreads a Deployment's pods evenly, each pod on an IP of its node's block", async () => {
    await c.client.create(REFS.deployments, NS, deployment("spread", 9));
    const pods = await waitFor(
      async () => {
        const ps = await podsOf(c, "spread");
        const ready = ps.filter((p) =>
          p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"),
        );
        return ready.length === 9 ? ready : undefined;
      },
      { what: "nine ready pods" },
    );
    const perNode = new Map<string, number>();
    for (const p of pods)
      perNode.set(p.spec?.nodeName ?? "", (perNode.get(p.spec?.nodeName ?? "") ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...perNode].sort()), {
      nodes: 3,
      "nodes-2": 3,
      "nodes-3": 3,
    });
    const nodes = new Map(
      ((await c.client.list(REFS.nodes, "")).items as Array<Node & KubeObject>).map((n) => [
        n.metadata.name,
        parseCidr(n.spec?.podCIDR ?? ""),
      ]),
    );
    for (const p of pods) {
      const cidr = nodes.get(p.spec?.nodeName ?? "");
      assert.ok(
        cidr && cidrContains(cidr, p.status?.podIP ?? ""),
        `${p.metadata.name}'s IP ${p.status?.podIP} in ${cidr?.text}`,
      );
    }
    assert.equal(new Set(pods.map((p) => p.status?.podIP)).size, 9);
  });

  test("places pods by their CPU requests, and leaves one that fits no node Pending with Insufficient cpu", async () => {
    const nodes = (await c.client.list(REFS.nodes, "")).items as Array<Node & KubeObject>;
    // Three quarters of a node's CPU (the host's, so whatever the machine): one such pod a node.
    const cores = Number(nodes[0]?.status?.allocatable?.cpu ?? "0");
    assert.ok(cores >= 1, `allocatable cpu ${cores}`);
    const big = (name: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS, labels: { app: "big" } },
      spec: {
        containers: [
          { name: "c", image: "simulated", resources: { requests: { cpu: `${cores * 750}m` } } },
        ],
      },
    });
    for (const name of ["big-1", "big-2", "big-3", "big-4"])
      await c.client.create(REFS.pods, NS, big(name));
    const pending = await waitFor(
      async () => {
        const ps = await podsOf(c, "big");
        const bound = ps.filter((p) => p.spec?.nodeName);
        const stuck = ps.find((p) =>
          p.status?.conditions?.some(
            (x) => x.type === "PodScheduled" && x.reason === "Unschedulable",
          ),
        );
        return bound.length === 3 && stuck ? { bound, stuck } : undefined;
      },
      { what: "three big pods bound, one unschedulable" },
    );
    assert.equal(new Set(pending.bound.map((p) => p.spec?.nodeName)).size, 3, "one a node");
    assert.equal(
      pending.stuck.status?.conditions?.find((x) => x.type === "PodScheduled")?.message,
      "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
    // Deleting one frees its node's CPU: the waiting pod gets it.
    const freed = pending.bound[0];
    assert.ok(freed);
    await c.client.delete(REFS.pods, NS, freed.metadata.name ?? "", { gracePeriodSeconds: 0 });
    const moved = await waitFor(
      async () => {
        const p = (await podsOf(c, "big")).find(
          (x) => x.metadata.name === pending.stuck.metadata.name,
        );
        return p?.spec?.nodeName;
      },
      { what: "the waiting pod scheduled" },
    );
    assert.equal(moved, freed.spec?.nodeName);
    await c.client.deleteCollection(REFS.pods, NS, {
      labelSelector: "app=big",
      gracePeriodSeconds: 0,
    });
  });

  test("leaves the pods beyond 3 × 110 Pending with kube's Too many pods message", async () => {
    await c.client.create(REFS.deployments, NS, deployment("full", 330 - 9 + 2));
    const pending = await waitFor(
      async () => {
        const ps = (await podsOf(c, "full")).filter((p) =>
          p.status?.conditions?.some(
            (x) => x.type === "PodScheduled" && x.reason === "Unschedulable",
          ),
        );
        return ps.length === 2 ? ps : undefined;
      },
      { what: "two unschedulable pods", timeoutMs: 60_000 },
    );
    const cond = pending[0]?.status?.conditions?.find((x) => x.type === "PodScheduled");
    assert.equal(
      cond?.message,
      "0/3 nodes are available: 3 Too many pods. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
  });
});

test("several nodes need the simulated runtime", async () => {
  await assert.rejects(
    startCluster({ ephemeral: true, nodes: 2, runtime: "process", apiPort: 0, dnsPort: 0 }),
    (e) => e instanceof ClusterError && /simulated runtime/.test(e.message),
  );
});
