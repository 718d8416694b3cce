import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from "kubernetes-types/apps/v1.js";
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import { notFound } from "../../api/errors.ts";
import { Expectations } from "../_expectations.ts";
import { FailedPodBackoff } from "./_backoff.ts";
import { type DaemonSetDeps, reconcileDaemonSet } from "./reconcile.ts";

const KEY = "default/agent";
const UID = "ds-uid";

/**
 * A tiny cluster: nodes, pods and revisions in maps, a manual clock, and an informer that sees
 * every write at once (creations and deletions are observed as they happen). Pods turn ready
 * when `settle()` runs and `ready(pod)` says so; `sync()` is one reconcile.
 */
class World {
  nodes: Node[];
  ds: DaemonSet;
  pods = new Map<string, Pod>();
  revisions = new Map<string, ControllerRevision>();
  events: string[] = [];
  now = Date.parse("2026-01-01T00:00:00Z");
  seq = 0;
  expectations = new Expectations(() => this.now);
  backoff = new FailedPodBackoff();
  ready: (pod: Pod) => boolean = () => true;
  /** Pod names created and deleted, in order, since the last `take()`. */
  log: string[] = [];

  constructor(ds: DaemonSet, nodes: Node[]) {
    this.ds = ds;
    this.nodes = nodes;
  }

  deps(): DaemonSetDeps {
    return {
      getDaemonSet: () => this.ds,
      listNodes: () => this.nodes,
      candidatePods: () => [...this.pods.values()],
      candidateRevisions: () => [...this.revisions.values()],
      setPodOwners: async (pod, owners) => {
        const next = structuredClone(pod);
        next.metadata = { ...next.metadata, ownerReferences: owners };
        this.pods.set(pod.metadata?.name ?? "", next);
        return next;
      },
      setRevisionOwners: async (r, owners) => {
        const next = { ...r, metadata: { ...r.metadata, ownerReferences: owners } };
        this.revisions.set(r.metadata?.name ?? "", next);
        return next;
      },
      createPod: async (pod) => {
        const name = `${pod.metadata?.generateName ?? ""}${++this.seq}`;
        const made: Pod = structuredClone(pod);
        made.metadata = {
          ...made.metadata,
          name,
          uid: `pod-${this.seq}`,
          creationTimestamp: new Date(this.now + this.seq).toISOString(),
        };
        (made as { status?: Pod["status"] }).status = { phase: "Pending" };
        this.pods.set(name, made);
        this.log.push(`+${this.nodeOf(made)}`);
        this.expectations.creationObserved(KEY);
        return made;
      },
      deletePod: async (pod) => {
        const name = pod.metadata?.name ?? "";
        if (!this.pods.delete(name)) throw notFound("pods", "", name);
        this.log.push(`-${this.nodeOf(pod)}`);
        this.expectations.deletionObserved(KEY, `default/${name}`);
      },
      createRevision: async (r) => {
        const name = r.metadata?.name ?? "";
        if (this.revisions.has(name)) return undefined;
        this.revisions.set(name, r);
        return r;
      },
      getRevision: async (name) => this.revisions.get(name),
      renumberRevision: async (r, to) => {
        const next = { ...r, revision: to };
        this.revisions.set(r.metadata?.name ?? "", next);
        return next;
      },
      deleteRevision: async (r) => {
        this.revisions.delete(r.metadata?.name ?? "");
      },
      writeStatus: async (_ds, status) => {
        this.ds = { ...this.ds, status: { ...this.ds.status, ...status } };
      },
      event: (_ds, type, reason, message) => this.events.push(`${type} ${reason}: ${message}`),
      expectations: this.expectations,
      backoff: this.backoff,
      now: () => this.now,
    };
  }

  nodeOf(pod: Pod): string {
    return (
      pod.spec?.nodeName ??
      pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
        ?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0] ??
      "?"
    );
  }

  /** The scheduler and kubelets: bind to the pinned node, run, and turn ready when `ready` says. */
  settle(): void {
    this.now += 1000;
    for (const [name, pod] of this.pods) {
      const p = structuredClone(pod);
      p.spec = { ...(p.spec ?? { containers: [] }), nodeName: this.nodeOf(p) };
      if (p.status?.phase === "Failed" || p.status?.phase === "Succeeded") continue;
      const ready = this.ready(p);
      (p as { status?: Pod["status"] }).status = {
        phase: "Running",
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            lastTransitionTime: new Date(this.now).toISOString(),
          },
        ],
      };
      this.pods.set(name, p);
    }
  }

  async sync() {
    return reconcileDaemonSet(KEY, this.deps());
  }

  /** Syncs and settles until nothing changes. */
  async converge(max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      const before = JSON.stringify([[...this.pods.keys()], this.ds.status]);
      await this.sync();
      this.settle();
      if (JSON.stringify([[...this.pods.keys()], this.ds.status]) === before) return;
    }
    throw new Error("did not converge");
  }

  take(): string[] {
    const out = this.log;
    this.log = [];
    return out;
  }

  /** Node → images of its pods, sorted. */
  layout(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of this.pods.values()) {
      const node = this.nodeOf(p);
      out[node] = [...(out[node] ?? []), p.spec?.containers[0]?.image ?? ""];
    }
    for (const v of Object.values(out)) v.sort();
    return Object.fromEntries(Object.entries(out).sort());
  }

  setTemplate(change: (spec: NonNullable<DaemonSet["spec"]>["template"]) => void): void {
    const ds = structuredClone(this.ds);
    const spec = ds.spec as NonNullable<DaemonSet["spec"]>;
    change(spec.template);
    const generation = Number(
      ds.metadata?.annotations?.["deprecated.daemonset.template.generation"] ?? "1",
    );
    ds.metadata = {
      ...ds.metadata,
      generation: (ds.metadata?.generation ?? 1) + 1,
      annotations: {
        ...ds.metadata?.annotations,
        "deprecated.daemonset.template.generation": String(generation + 1),
      },
    };
    this.ds = ds;
  }

  setImage(image: string): void {
    this.setTemplate((t) => {
      t.spec = { ...(t.spec ?? { containers: [] }), containers: [{ name: "c", image }] };
    });
  }

  status(): DaemonSetStatus {
    return this.ds.status ?? ({} as DaemonSetStatus);
  }
}

function node(name: string, o: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(o.labels ?? {}) } },
    spec: o.taints ? { taints: o.taints } : {},
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

function daemonSet(
  o: {
    strategy?: NonNullable<DaemonSet["spec"]>["updateStrategy"];
    podSpec?: Partial<NonNullable<NonNullable<DaemonSet["spec"]>["template"]["spec"]>>;
    minReadySeconds?: number;
    history?: number;
  } = {},
): DaemonSet {
  return {
    metadata: {
      name: "agent",
      namespace: "default",
      uid: UID,
      generation: 1,
      annotations: { "deprecated.daemonset.template.generation": "1" },
    },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "c", image: "v1" }], ...(o.podSpec ?? {}) },
      },
      updateStrategy: o.strategy ?? {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      },
      revisionHistoryLimit: o.history ?? 10,
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
    },
  };
}

const three = () => [node("a"), node("b"), node("c")];
const taint = (key: string, effect: Taint["effect"], value?: string): Taint => ({
  key,
  effect,
  ...(value ? { value } : {}),
});

describe("reconcileDaemonSet places one pod on each node that should run it", () => {
  // [case, nodes, DaemonSet options, nodes that get a pod]
  const cases: Array<[string, Node[], Parameters<typeof daemonSet>[0], string[]]> = [
    ["every node", three(), {}, ["a", "b", "c"]],
    [
      "a NoSchedule taint keeps the pod off without a toleration",
      [node("a"), node("b", { taints: [taint("dedicated", "NoSchedule", "db")] })],
      {},
      ["a"],
    ],
    [
      "a toleration lets it on",
      [node("a"), node("b", { taints: [taint("dedicated", "NoSchedule", "db")] })],
      {
        podSpec: {
          tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }],
        },
      },
      ["a", "b"],
    ],
    [
      "a NoExecute taint keeps it off too",
      [node("a"), node("b", { taints: [taint("gone", "NoExecute")] })],
      {},
      ["a"],
    ],
    [
      "PreferNoSchedule does not count",
      [node("a", { taints: [taint("soft", "PreferNoSchedule")] })],
      {},
      ["a"],
    ],
    [
      "the node conditions' taints are tolerated by every daemon pod",
      [
        node("a", { taints: [taint("node.kubernetes.io/not-ready", "NoExecute")] }),
        node("b", { taints: [taint("node.kubernetes.io/unreachable", "NoExecute")] }),
        node("c", { taints: [taint("node.kubernetes.io/disk-pressure", "NoSchedule")] }),
        node("d", { taints: [taint("node.kubernetes.io/memory-pressure", "NoSchedule")] }),
        node("e", { taints: [taint("node.kubernetes.io/pid-pressure", "NoSchedule")] }),
        node("f", { taints: [taint("node.kubernetes.io/unschedulable", "NoSchedule")] }),
        node("g", { taints: [taint("node.kubernetes.io/network-unavailable", "NoSchedule")] }),
      ],
      {},
      ["a", "b", "c", "d", "e", "f"],
    ],
    [
      "network-unavailable is tolerated with hostNetwork",
      [node("g", { taints: [taint("node.kubernetes.io/network-unavailable", "NoSchedule")] })],
      { podSpec: { hostNetwork: true } },
      ["g"],
    ],
    [
      "the node selector",
      [node("a", { labels: { disk: "ssd" } }), node("b"), node("c", { labels: { disk: "ssd" } })],
      { podSpec: { nodeSelector: { disk: "ssd" } } },
      ["a", "c"],
    ],
    [
      "the required node affinity",
      [node("a", { labels: { zone: "x" } }), node("b", { labels: { zone: "y" } }), node("c")],
      {
        podSpec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "zone", operator: "In", values: ["x", "y"] }] },
                ],
              },
            },
          },
        },
      },
      ["a", "b"],
    ],
    ["a template naming a node", three(), { podSpec: { nodeName: "b" } }, ["b"]],
  ];
  for (const [name, nodes, options, want] of cases)
    test(name, async () => {
      const w = new World(daemonSet(options), nodes);
      await w.converge();
      assert.deepEqual(Object.keys(w.layout()), want);
      const s = w.status();
      assert.equal(s.desiredNumberScheduled, want.length);
      assert.equal(s.currentNumberScheduled, want.length);
      assert.equal(s.numberReady, want.length);
      assert.equal(s.numberAvailable, want.length);
      assert.equal(s.updatedNumberScheduled, want.length);
      assert.equal(s.numberMisscheduled, 0);
      assert.equal(s.numberUnavailable, 0);
      assert.equal(s.observedGeneration, 1);
    });
});

describe("reconcileDaemonSet", () => {
  test("pins each pod to its node by matchFields, with the daemon tolerations and labels", async () => {
    const w = new World(
      daemonSet({
        podSpec: {
          tolerations: [
            {
              key: "node.kubernetes.io/not-ready",
              operator: "Exists",
              effect: "NoExecute",
              tolerationSeconds: 5,
            },
          ],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }],
              },
            },
          },
        },
      }),
      [node("a")],
    );
    await w.sync();
    const [pod] = w.pods.values();
    assert.equal(pod?.metadata?.generateName, "agent-");
    assert.deepEqual(pod?.metadata?.ownerReferences, [
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        name: "agent",
        uid: UID,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const [revision] = w.revisions.values();
    const hash = revision?.metadata?.labels?.["controller-revision-hash"];
    assert.ok(hash);
    assert.equal(revision?.metadata?.name, `agent-${hash}`);
    assert.equal(revision?.revision, 1);
    assert.deepEqual(pod?.metadata?.labels, {
      app: "agent",
      "controller-revision-hash": hash,
      "pod-template-generation": "1",
    });
    assert.deepEqual(
      pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      {
        nodeSelectorTerms: [
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }] },
        ],
      },
    );
    assert.deepEqual(
      pod?.spec?.tolerations?.map(
        (t) => `${t.key}:${t.effect}${t.tolerationSeconds ? `/${t.tolerationSeconds}` : ""}`,
      ),
      [
        "node.kubernetes.io/not-ready:NoExecute",
        "node.kubernetes.io/unreachable:NoExecute",
        "node.kubernetes.io/disk-pressure:NoSchedule",
        "node.kubernetes.io/memory-pressure:NoSchedule",
        "node.kubernetes.io/pid-pressure:NoSchedule",
        "node.kubernetes.io/unschedulable:NoSchedule",
      ],
    );
    assert.deepEqual(w.events, [`Normal SuccessfulCreate: Created pod: ${pod?.metadata?.name}`]);
  });

  test("follows nodes: a new node gets a pod, a NoExecute taint evicts it, a NoSchedule one does not", async () => {
    const w = new World(daemonSet(), [node("a"), node("b")]);
    await w.converge();
    w.nodes = [...w.nodes, node("c")];
    await w.converge();
    assert.deepEqual(Object.keys(w.layout()), ["a", "b", "c"]);
    w.nodes = [node("a", { taints: [taint("maint", "NoSchedule")] }), node("b"), node("c")];
    await w.converge();
    assert.deepEqual(Object.keys(w.layout()), ["a", "b", "c"]);
    assert.equal(w.status().desiredNumberScheduled, 2);
    assert.equal(w.status().numberMisscheduled, 1);
    w.nodes = [node("a"), node("b", { taints: [taint("maint", "NoExecute")] }), node("c")];
    await w.converge();
    assert.deepEqual(Object.keys(w.layout()), ["a", "c"]);
    assert.equal(w.status().numberMisscheduled, 0);
    assert.equal(w.status().desiredNumberScheduled, 2);
  });

  test("deletes a pod whose node is gone before it was scheduled, and keeps the oldest of two", async () => {
    const w = new World(daemonSet(), [node("a"), node("b")]);
    await w.sync();
    w.nodes = [node("a")];
    await w.sync();
    assert.deepEqual(w.take(), ["+a", "+b", "-b"]);
    w.settle();
    const [first] = w.pods.values();
    const twin = structuredClone(first as Pod);
    twin.metadata = {
      ...twin.metadata,
      name: "agent-twin",
      uid: "twin",
      creationTimestamp: new Date(w.now).toISOString(),
    };
    w.pods.set("agent-twin", twin);
    await w.sync();
    assert.deepEqual([...w.pods.keys()], [first?.metadata?.name]);
  });

  test("replaces a failed pod, then backs off on that node", async () => {
    const w = new World(daemonSet(), [node("a")]);
    await w.converge();
    w.take();
    const fail = () => {
      for (const p of w.pods.values())
        (p as { status?: Pod["status"] }).status = { phase: "Failed" };
    };
    fail();
    await w.sync();
    await w.sync();
    assert.deepEqual(w.take(), ["-a", "+a"]);
    fail();
    const held = await w.sync();
    assert.deepEqual(w.take(), []);
    assert.ok(
      held && (held.requeueAfter ?? 0) > 0 && (held.requeueAfter ?? 0) <= 1000,
      JSON.stringify(held),
    );
    w.now += 1000;
    await w.sync();
    assert.deepEqual(w.take(), ["-a"]);
    assert.equal(w.events.filter((e) => e.includes("FailedDaemonPod")).length, 2);
    assert.match(
      w.events.find((e) => e.includes("FailedDaemonPod")) ?? "",
      /^Warning FailedDaemonPod: Found failed daemon pod default\/agent-\d+ on node a, will try to kill it$/,
    );
  });

  test("adopts a matching orphan and releases a pod that stops matching", async () => {
    // OnDelete: the adopted pod, of no revision, is not rolled away.
    const w = new World(daemonSet({ strategy: { type: "OnDelete" } }), [node("a"), node("b")]);
    w.pods.set("stray", {
      metadata: {
        name: "stray",
        namespace: "default",
        uid: "s",
        labels: { app: "agent" },
        creationTimestamp: new Date(w.now).toISOString(),
      },
      spec: { nodeName: "a", containers: [{ name: "c", image: "v1" }] },
      status: { phase: "Running" },
    });
    await w.sync();
    assert.equal(w.pods.get("stray")?.metadata?.ownerReferences?.[0]?.uid, UID);
    assert.deepEqual(w.take(), ["+b"]);
    const mine = w.pods.get("stray") as Pod;
    w.pods.set("stray", { ...mine, metadata: { ...mine.metadata, labels: { app: "other" } } });
    await w.sync();
    assert.deepEqual(w.pods.get("stray")?.metadata?.ownerReferences, []);
    assert.deepEqual(w.take(), ["+a"]);
  });

  test("only writes the status while its creations are unseen", async () => {
    const w = new World(daemonSet(), three());
    w.expectations.expectCreations(KEY, 1);
    await w.sync();
    assert.deepEqual(w.take(), []);
    assert.equal(w.status().desiredNumberScheduled, 3);
    assert.equal(w.status().observedGeneration, undefined);
  });

  test("warns and does nothing when the selector selects everything", async () => {
    const ds = daemonSet();
    (ds.spec as NonNullable<DaemonSet["spec"]>).selector = {};
    const w = new World(ds, three());
    await w.sync();
    assert.deepEqual(w.events, [
      "Warning SelectingAll: This daemon set is selecting all pods. A non-empty selector is required.",
    ]);
    assert.equal(w.pods.size, 0);
  });

  test("requeues for minReadySeconds until the pods are available", async () => {
    const w = new World(daemonSet({ minReadySeconds: 30 }), [node("a")]);
    await w.sync();
    w.settle();
    const r = await w.sync();
    assert.equal(w.status().numberReady, 1);
    assert.equal(w.status().numberAvailable ?? 0, 0);
    assert.deepEqual(r, { requeueAfter: 30_000 });
    w.now += 31_000;
    await w.sync();
    assert.equal(w.status().numberAvailable, 1);
  });
});

describe("reconcileDaemonSet rolls a new template out", () => {
  /** Rolls to v2 over `nodes` and records each step's layout, checking the budget each step. */
  async function roll(
    w: World,
    check: (layout: Record<string, string[]>) => void,
  ): Promise<Array<Record<string, string[]>>> {
    await w.converge();
    w.setImage("v2");
    const steps: Array<Record<string, string[]>> = [];
    for (let i = 0; i < 40; i++) {
      await w.sync();
      check(w.layout());
      const layout = JSON.stringify(w.layout());
      if (steps.length === 0 || JSON.stringify(steps.at(-1)) !== layout) steps.push(w.layout());
      w.settle();
      if (
        Object.values(w.layout()).every((v) => v.length === 1 && v[0] === "v2") &&
        w.status().updatedNumberScheduled === 3
      )
        break;
    }
    return steps;
  }

  test("maxUnavailable 1 replaces pods node by node", async () => {
    const w = new World(daemonSet(), three());
    const steps = await roll(w, (layout) => {
      const down = ["a", "b", "c"].filter((n) => (layout[n] ?? []).length === 0).length;
      assert.ok(down <= 1, JSON.stringify(layout));
    });
    assert.deepEqual(steps, [
      { b: ["v1"], c: ["v1"] },
      { a: ["v2"], b: ["v1"], c: ["v1"] },
      { a: ["v2"], c: ["v1"] },
      { a: ["v2"], b: ["v2"], c: ["v1"] },
      { a: ["v2"], b: ["v2"] },
      { a: ["v2"], b: ["v2"], c: ["v2"] },
    ]);
    assert.equal(w.status().updatedNumberScheduled, 3);
    assert.equal(w.status().observedGeneration, 2);
  });

  test("maxUnavailable 2 (and 50% of 3, rounded up) replaces two at a time", async () => {
    for (const maxUnavailable of [2, "50%"]) {
      const w = new World(
        daemonSet({
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable, maxSurge: 0 } },
        }),
        three(),
      );
      const steps = await roll(w, () => {});
      assert.deepEqual(steps[0], { c: ["v1"] }, String(maxUnavailable));
    }
  });

  test("a new pod that never turns ready stops the rollout", async () => {
    const w = new World(daemonSet(), three());
    await w.converge();
    w.ready = (p) => p.spec?.containers[0]?.image !== "broken";
    w.setImage("broken");
    for (let i = 0; i < 10; i++) {
      await w.sync();
      w.settle();
    }
    assert.deepEqual(w.layout(), { a: ["broken"], b: ["v1"], c: ["v1"] });
    assert.equal(w.status().numberUnavailable, 1);
    assert.equal(w.status().updatedNumberScheduled, 1);
  });

  test("maxSurge 1 starts the new pod beside the old one and deletes the old once available", async () => {
    const w = new World(
      daemonSet({
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      }),
      three(),
    );
    const steps = await roll(w, (layout) => {
      for (const n of ["a", "b", "c"])
        assert.ok((layout[n] ?? []).length >= 1, JSON.stringify(layout));
      const doubled = Object.values(layout).filter((v) => v.length === 2).length;
      assert.ok(doubled <= 1, JSON.stringify(layout));
    });
    assert.deepEqual(steps, [
      { a: ["v1", "v2"], b: ["v1"], c: ["v1"] },
      { a: ["v2"], b: ["v1", "v2"], c: ["v1"] },
      { a: ["v2"], b: ["v2"], c: ["v1", "v2"] },
      { a: ["v2"], b: ["v2"], c: ["v2"] },
    ]);
  });

  test("OnDelete replaces only the pods the user deletes", async () => {
    const w = new World(daemonSet({ strategy: { type: "OnDelete" } }), three());
    await w.converge();
    w.setImage("v2");
    await w.converge();
    assert.deepEqual(w.layout(), { a: ["v1"], b: ["v1"], c: ["v1"] });
    assert.equal(w.status().updatedNumberScheduled ?? 0, 0);
    const onB = [...w.pods.values()].find((p) => w.nodeOf(p) === "b");
    w.pods.delete(onB?.metadata?.name ?? "");
    await w.converge();
    assert.deepEqual(w.layout(), { a: ["v1"], b: ["v2"], c: ["v1"] });
    assert.equal(w.status().updatedNumberScheduled, 1);
  });

  test("keeps a revision per template, renumbers on rollback and trims the history", async () => {
    const w = new World(daemonSet({ history: 1 }), [node("a")]);
    await w.converge();
    w.setImage("v2");
    await w.converge();
    w.setImage("v3");
    await w.converge();
    const images = () =>
      [...w.revisions.values()]
        .sort((x, y) => x.revision - y.revision)
        .map((r) => {
          const data = r.data as {
            spec: { template: { spec: { containers: Array<{ image: string }> } } };
          };
          return `${r.revision}:${data.spec.template.spec.containers[0]?.image}`;
        });
    assert.deepEqual(images(), ["2:v2", "3:v3"]);
    w.setImage("v2");
    await w.converge();
    assert.deepEqual(images(), ["3:v3", "4:v2"]);
    assert.deepEqual(w.layout(), { a: ["v2"] });
  });
});
