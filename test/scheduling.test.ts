/**
 * Scheduling end to end with the real kubectl on a cluster of three simulated nodes (`sched`,
 * `sched-2`, `sched-3`): the built-in PriorityClasses and Priority admission, a taint that keeps
 * a Deployment with required anti-affinity off a node (its third pod Pending with kube's
 * FailedScheduling text in `kubectl describe`, then placed once the taint is removed), and a
 * zone topology spread.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const ZONE = "topology.kubernetes.io/zone";

describe("scheduling on three simulated nodes", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  const kubectl = async (args: string[], input?: string) => {
    const r = await run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "--cache-dir", join(c.dataDir, "kube-cache"), ...args],
      { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const podsOf = async (app: string) =>
    (await c.client.list(REFS.pods, "default", { labelSelector: `app=${app}` })).items.map((p) =>
      typed<Pod>(p),
    );

  before(async () => {
    c = await startCluster({
      name: "sched",
      ephemeral: true,
      runtime: "simulated",
      nodes: 3,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    await kubectl(["label", "node", "sched", "sched-2", `${ZONE}=z1`]);
    await kubectl(["label", "node", "sched-3", `${ZONE}=z2`]);
  });
  after(() => c?.stop());

  test("the system PriorityClasses are built in, and a pod gets its class's priority", async () => {
    const table = await kubectl(["get", "priorityclasses"]);
    const rows = table
      .trim()
      .split("\n")
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0], ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[1], r[2], r[4]]),
      [
        ["system-cluster-critical", "2000000000", "false", "PreemptLowerPriority"],
        ["system-node-critical", "2000001000", "false", "PreemptLowerPriority"],
      ],
    );
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: Pod
metadata: {name: important}
spec:
  priorityClassName: high
  containers: [{name: c, image: simulated}]
`,
    );
    assert.equal(
      await kubectl(["get", "pod", "important", "-o", "jsonpath={.spec.priority}"]),
      "1000",
    );
    const refused = await run(
      KUBECTL ?? "",
      ["--kubeconfig", c.kubeconfigPath, "delete", "priorityclass", "system-node-critical"],
      { timeoutMs: 60_000 },
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /this is a system priority class and cannot be deleted/);
    await kubectl(["delete", "pod", "important", "--wait=false"]);
  });

  test("a taint and required anti-affinity leave a pod Pending with kube's FailedScheduling text, until the taint goes", async () => {
    await kubectl(["taint", "node", "sched-2", "dedicated=gpu:NoSchedule"]);
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: web}}
            topologyKey: kubernetes.io/hostname
      containers: [{name: c, image: simulated}]
`,
    );
    const pending = await waitFor(
      async () => {
        const pods = await podsOf("web");
        const bound = pods.filter((p) => p.spec?.nodeName);
        const stuck = pods.find((p) =>
          p.status?.conditions?.some((x) => x.type === "PodScheduled" && x.status === "False"),
        );
        return pods.length === 3 && bound.length === 2 && stuck ? { bound, stuck } : undefined;
      },
      { what: "two web pods bound, one unschedulable" },
    );
    assert.deepEqual(pending.bound.map((p) => p.spec?.nodeName).sort(), ["sched", "sched-3"]);
    const message =
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
    const name = pending.stuck.metadata?.name ?? "";
    const described = await waitFor(
      async () => {
        const text = await kubectl(["describe", "pod", name]);
        return text.includes("FailedScheduling") ? text : undefined;
      },
      { what: "the FailedScheduling event in kubectl describe" },
    );
    const line = described.split("\n").find((l) => l.includes("FailedScheduling")) ?? "";
    assert.match(line, /^\s+Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+(.*)$/);
    assert.equal(line.replace(/^.*default-scheduler\s+/, ""), message);
    assert.match(described, /Status:\s+Pending/);
    assert.match(
      described,
      /Tolerations:\s+node\.kubernetes\.io\/not-ready:NoExecute op=Exists for 300s\n\s+node\.kubernetes\.io\/unreachable:NoExecute op=Exists for 300s/,
    );

    await kubectl(["taint", "node", "sched-2", "dedicated-"]);
    const placed = await waitFor(
      async () => {
        const pods = await podsOf("web");
        const nodes = pods.map((p) => p.spec?.nodeName).filter(Boolean);
        return nodes.length === 3 ? nodes : undefined;
      },
      { what: "the third web pod placed once the taint is gone" },
    );
    assert.deepEqual(placed.sort(), ["sched", "sched-2", "sched-3"]);
  });

  test("a zone topology spread with maxSkew 1 puts two pods in each zone", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 4
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: ${ZONE}
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: spread}}
      containers: [{name: c, image: simulated}]
`,
    );
    const nodes = await waitFor(
      async () => {
        const got = (await podsOf("spread")).map((p) => p.spec?.nodeName).filter(Boolean);
        return got.length === 4 ? (got as string[]) : undefined;
      },
      { what: "four spread pods placed" },
    );
    const zoneOf: Record<string, string> = { sched: "z1", "sched-2": "z1", "sched-3": "z2" };
    const perZone: Record<string, number> = {};
    for (const n of nodes) perZone[zoneOf[n] ?? "?"] = (perZone[zoneOf[n] ?? "?"] ?? 0) + 1;
    assert.deepEqual(perZone, { z1: 2, z2: 2 });
  });

  test("a pod of a higher PriorityClass preempts a lower-priority pod when no node has room", async () => {
    const nodes = (await c.client.list(REFS.nodes, "")).items;
    const cores = Number(
      (nodes[0] as { status?: { allocatable?: { cpu?: string } } }).status?.allocatable?.cpu ?? "0",
    );
    assert.ok(cores >= 1, `allocatable cpu ${cores}`);
    const cpu = `${cores * 750}m`;
    const pod = (name: string, extra: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name.replace(/-\d$/, "")}}}
spec:
  ${extra}
  containers: [{name: c, image: simulated, resources: {requests: {cpu: ${cpu}}}}]
`;
    await kubectl(
      ["apply", "-f", "-"],
      ["filler-1", "filler-2", "filler-3"]
        .map((n) => pod(n, "terminationGracePeriodSeconds: 0"))
        .join("---\n"),
    );
    await waitFor(
      async () =>
        (await podsOf("filler")).filter((p) => p.spec?.nodeName).length === 3 ? true : undefined,
      { what: "three fillers placed" },
    );
    await kubectl(["apply", "-f", "-"], pod("urgent", "priorityClassName: high"));
    const urgent = await waitFor(
      async () => (await podsOf("urgent")).find((p) => p.spec?.nodeName),
      { what: "the urgent pod placed after preemption" },
    );
    const fillers = await podsOf("filler");
    assert.equal(
      fillers.filter((p) => !p.metadata?.deletionTimestamp).length,
      2,
      "one filler preempted",
    );
    const events = await kubectl([
      "get",
      "events",
      "--field-selector",
      "reason=Preempted",
      "-o",
      'jsonpath={range .items[*]}{.involvedObject.name} {.message}{"\\n"}{end}',
    ]);
    assert.match(
      events.trim(),
      new RegExp(
        `^filler-\\d Preempted by pod ${urgent.metadata?.uid} on node ${urgent.spec?.nodeName}$`,
      ),
    );
  });

  test("loopkube's runtimes are RuntimeClasses, and runtimeClassName picks one", async () => {
    const table = await kubectl(["get", "runtimeclasses"]);
    assert.deepEqual(
      table
        .trim()
        .split("\n")
        .map((l) => l.split(/\s{2,}/).slice(0, 2)),
      [
        ["NAME", "HANDLER"],
        ["oci", "oci"],
        ["process", "process"],
        ["simulated", "simulated"],
      ],
    );
    // The cluster's default runtime is `simulated`; this pod asks for a real process.
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata: {name: real, labels: {app: real}}
spec:
  runtimeClassName: process
  restartPolicy: Never
  containers: [{name: c, image: busybox, command: ["sh", "-c", "echo from a process"]}]
`,
    );
    await waitFor(
      async () => ((await podsOf("real"))[0]?.status?.phase === "Succeeded" ? true : undefined),
      { what: "the process pod succeeded" },
    );
    assert.equal((await kubectl(["logs", "real"])).trim(), "from a process");
  });
});
