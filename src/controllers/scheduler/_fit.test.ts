import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import { candidates, feasibleNodesToFind, misfit, place } from "./_fit.ts";
import { podsOn, testNode, testPod } from "./_testing.ts";

/** `place` over plain nodes with the given pod counts. */
const placeOn = (p: Pod, nodes: readonly Node[], podCount: (n: string) => number, start = 0) =>
  place(p, candidates(nodes, podCount), { start });

function node(
  name: string,
  o: {
    ready?: boolean;
    labels?: Record<string, string>;
    taints?: Taint[];
    cordoned?: boolean;
    maxPods?: number;
    cpu?: string;
  } = {},
): Node {
  const allocatable = {
    ...(o.maxPods === undefined ? {} : { pods: String(o.maxPods) }),
    ...(o.cpu === undefined ? {} : { cpu: o.cpu }),
  };
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: {
      ...(o.taints ? { taints: o.taints } : {}),
      ...(o.cordoned ? { unschedulable: true } : {}),
    },
    status: {
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
      ...(Object.keys(allocatable).length === 0 ? {} : { allocatable }),
    },
  };
}

function pod(spec: Partial<NonNullable<Pod["spec"]>> = {}): Pod {
  return { metadata: { name: "p", namespace: "default" }, spec: { containers: [], ...spec } };
}

test("misfit explains each way a pod does not fit a node, as kube-scheduler words it", () => {
  const gpu: Taint = { key: "gpu", value: "yes", effect: "NoSchedule" };
  const cases: Array<[string, Pod, Node, string | undefined]> = [
    ["plain pod on a ready node", pod(), node("a"), undefined],
    [
      "preset node name elsewhere",
      pod({ nodeName: "b" }),
      node("a"),
      "node(s) didn't match the requested node name",
    ],
    [
      "selector not matched",
      pod({ nodeSelector: { disk: "ssd" } }),
      node("a"),
      "node(s) didn't match Pod's node affinity/selector",
    ],
    [
      "selector matched",
      pod({ nodeSelector: { disk: "ssd" } }),
      node("a", { labels: { disk: "ssd" } }),
      undefined,
    ],
    [
      "taint not tolerated",
      pod(),
      node("a", { taints: [gpu] }),
      "node(s) had untolerated taint {gpu: yes}",
    ],
    [
      "taint tolerated by Equal",
      pod({ tolerations: [{ key: "gpu", operator: "Equal", value: "yes" }] }),
      node("a", { taints: [gpu] }),
      undefined,
    ],
    [
      "taint tolerated by Exists",
      pod({ tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }] }),
      node("a", { taints: [gpu] }),
      undefined,
    ],
    [
      "toleration with another effect",
      pod({ tolerations: [{ key: "gpu", operator: "Exists", effect: "NoExecute" }] }),
      node("a", { taints: [gpu] }),
      "node(s) had untolerated taint {gpu: yes}",
    ],
    [
      "PreferNoSchedule is ignored",
      pod(),
      node("a", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }),
      undefined,
    ],
    [
      "not ready node",
      pod(),
      node("a", { ready: false }),
      "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
    ],
    [
      "not ready node, tolerated",
      pod({ tolerations: [{ operator: "Exists" }] }),
      node("a", { ready: false }),
      undefined,
    ],
    ["cordoned node", pod(), node("a", { cordoned: true }), "node(s) were unschedulable"],
  ];
  for (const [name, p, n, want] of cases) assert.equal(misfit(p, n), want, name);
});

test("place picks the fitting node with the fewest pods, ties by name", () => {
  const counts: Record<string, number> = { a: 3, b: 1, c: 1 };
  const got = placeOn(pod(), [node("a"), node("c"), node("b")], (n) => counts[n] ?? 0);
  assert.deepEqual(got, { node: "b", examined: 3 });
  const onlyA = placeOn(
    pod({ nodeSelector: { z: "1" } }),
    [node("a", { labels: { z: "1" } }), node("b")],
    (n) => counts[n] ?? 0,
  );
  assert.deepEqual(onlyA, { node: "a", examined: 2 });
});

test("place prints kube's FitError with counted, sorted reasons", () => {
  const got = placeOn(
    pod({ nodeSelector: { disk: "ssd" } }),
    [node("a"), node("b"), node("c", { labels: { disk: "ssd" }, ready: false })],
    () => 0,
  );
  assert.deepEqual(got, {
    message:
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    examined: 3,
  });
  assert.deepEqual(
    placeOn(pod(), [], () => 0),
    { message: "no nodes available to schedule pods", examined: 0 },
  );
});

test("place spreads a run of pods over the nodes by pod count and stops at each node's capacity", () => {
  // [case, nodes (name → capacity), pods already placed, pods to place, wanted final counts]
  const cases: Array<
    [string, Record<string, number>, Record<string, number>, number, Record<string, number>]
  > = [
    ["three empty nodes, six pods", { a: 110, b: 110, c: 110 }, {}, 6, { a: 2, b: 2, c: 2 }],
    [
      "a busy node waits until the others catch up",
      { a: 110, b: 110 },
      { a: 4 },
      6,
      { a: 5, b: 5 },
    ],
    ["a full node takes nothing more", { a: 2, b: 5 }, { a: 2 }, 3, { a: 2, b: 3 }],
    ["capacity caps the spread", { a: 1, b: 2, c: 3 }, {}, 6, { a: 1, b: 2, c: 3 }],
  ];
  for (const [name, caps, before, n, want] of cases) {
    const nodes = Object.entries(caps).map(([k, max]) => node(k, { maxPods: max }));
    const counts: Record<string, number> = Object.fromEntries(
      Object.keys(caps).map((k) => [k, before[k] ?? 0]),
    );
    for (let i = 0; i < n; i++) {
      const got = placeOn(pod(), nodes, (k) => counts[k] ?? 0);
      assert.ok("node" in got, `${name}: pod ${i} placed (${JSON.stringify(got)})`);
      counts[got.node] = (counts[got.node] ?? 0) + 1;
    }
    assert.deepEqual(counts, want, name);
  }
});

test("place answers kube's Too many pods FitError when every node is full", () => {
  const nodes = ["a", "b", "c"].map((k) => node(k, { maxPods: 110 }));
  assert.deepEqual(
    placeOn(pod(), nodes, () => 110),
    {
      message:
        "0/3 nodes are available: 3 Too many pods. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
      examined: 3,
    },
  );
  const mixed = placeOn(pod(), [node("a", { maxPods: 1 }), node("b", { cordoned: true })], () => 1);
  assert.deepEqual(mixed, {
    message:
      "0/2 nodes are available: 1 Too many pods, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
    examined: 2,
  });
});

test("feasibleNodesToFind follows kube's adaptive percentageOfNodesToScore", () => {
  // [nodes, fitting nodes kube-scheduler looks for]
  const cases: Array<[number, number]> = [
    [0, 0],
    [50, 50],
    [99, 99],
    [100, 100],
    [500, 230],
    [1_000, 420],
    [1_432, 558],
    [5_000, 500],
    [6_000, 300],
    [20_000, 1_000],
  ];
  for (const [total, want] of cases) assert.equal(feasibleNodesToFind(total), want, `${total}`);
});

test("place stops once enough nodes fit, from where the last search ended, and still spreads", () => {
  const nodes = Array.from({ length: 1_000 }, (_, i) => node(`n${String(i).padStart(4, "0")}`));
  const kept = candidates(nodes, () => 0);
  const byName = new Map(kept.map((c) => [c.facts.name, c]));
  let start = 0;
  for (let i = 0; i < 10_000; i++) {
    const got = place(pod(), kept, { start });
    assert.ok("node" in got);
    assert.equal(got.examined, 420, "kube looks at 420 of 1,000 fitting nodes");
    start = (start + got.examined) % nodes.length;
    const load = byName.get(got.node)?.load;
    if (load) load.pods++;
  }
  const spread = kept.map((c) => c.load.pods);
  assert.ok(
    Math.max(...spread) - Math.min(...spread) <= 2,
    `spread ${Math.min(...spread)}..${Math.max(...spread)}`,
  );
  // A pod that fits nowhere has every node examined, and the message counts them all.
  const none = placeOn(pod({ nodeSelector: { disk: "ssd" } }), nodes, () => 0, 123);
  assert.equal(none.examined, 1_000);
  assert.ok(
    "message" in none &&
      none.message.startsWith("0/1000 nodes are available: 1000 node(s) didn't match"),
  );
  // Fitting nodes far apart: the search walks past the misfits until it has enough.
  const sparse = nodes.map((n, i) =>
    i % 10 === 0 ? n : node(n.metadata?.name ?? "", { cordoned: true }),
  );
  const got = placeOn(pod(), sparse, () => 0, 5);
  assert.equal(got.examined, 1_000, "only 100 fit: all are needed (kube's minimum of 100)");
  assert.ok("node" in got);
});

test("place leaves out nodes short of what the pod requests, and says so as kube does", () => {
  const wants = (cpu: string) =>
    pod({ containers: [{ name: "c", resources: { requests: { cpu } } }] });
  const nodes = [node("a", { cpu: "2", maxPods: 110 }), node("b", { cpu: "4", maxPods: 110 })];
  const kept = candidates(nodes, () => 0);
  const [a] = kept;
  assert.ok(a);
  a.load.requested.cpu = 1500;
  // a has 500m left, b 4 CPU: a 1-CPU pod goes to b although both hold no pods.
  assert.deepEqual(place(wants("1"), kept), { node: "b", examined: 2 });
  assert.deepEqual(place(wants("8"), kept), {
    message:
      "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    examined: 2,
  });
  const one = candidates([node("solo", { cpu: "2", maxPods: 1 })], () => 1);
  assert.deepEqual(place(wants("3"), one), {
    message:
      "0/1 nodes are available: 1 Insufficient cpu, 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    examined: 1,
  });
});

test("place honours required node affinity with kube's selector message", () => {
  const arm = pod({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }],
            },
          ],
        },
      },
    },
  });
  const nodes = [
    node("a", { labels: { "kubernetes.io/arch": "amd64" } }),
    node("b", { labels: { "kubernetes.io/arch": "arm64" } }),
  ];
  assert.deepEqual(
    placeOn(arm, nodes, () => 0),
    { node: "b", examined: 2 },
  );
  assert.deepEqual(
    placeOn(arm, [nodes[0] as Node], () => 0),
    {
      message:
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
      examined: 1,
    },
  );
});

test("place words taints and anti-affinity together as kube's FitError, with the preemption verdicts", () => {
  const nodes = [
    testNode("a", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
    testNode("b"),
    testNode("c"),
  ];
  const web = (name: string) =>
    testPod(name, {
      labels: { app: "web" },
      spec: {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { app: "web" } },
                topologyKey: "kubernetes.io/hostname",
              },
            ],
          },
        },
      },
    });
  const got = place(
    web("new"),
    candidates(nodes, () => 1),
    {
      pods: podsOn([
        [web("w1"), "b"],
        [web("w2"), "c"],
      ]),
    },
  );
  assert.deepEqual(got, {
    message:
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
    examined: 3,
  });
});

test("place runs every filter and score over a run of pods as kube-scheduler would place them", () => {
  const ZONE = "topology.kubernetes.io/zone";
  const zoned = [
    testNode("a", { labels: { [ZONE]: "z1" } }),
    testNode("b", { labels: { [ZONE]: "z1" } }),
    testNode("c", { labels: { [ZONE]: "z2" } }),
  ];
  const antiHost = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" },
      ],
    },
  };
  const zoneSpread = [
    {
      maxSkew: 1,
      topologyKey: ZONE,
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: { app: "web" } },
    },
  ];
  // [case, nodes, pod spec, owner, pods to place, where each went (or the last one's message)]
  const cases: Array<
    [string, Node[], Partial<NonNullable<Pod["spec"]>>, string | undefined, number, string[]]
  > = [
    [
      "required anti-affinity by host: one a node, then none left",
      zoned,
      { affinity: antiHost },
      undefined,
      4,
      ["a", "b", "c", "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."],
    ],
    [
      "zone spread with maxSkew 1 alternates zones",
      zoned,
      { topologySpreadConstraints: zoneSpread },
      undefined,
      4,
      ["a", "c", "b", "c"],
    ],
    [
      "a PreferNoSchedule taint is avoided while other nodes fit",
      [testNode("a", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }), testNode("b")],
      {},
      undefined,
      3,
      ["b", "b", "b"],
    ],
    [
      "preferred node affinity outweighs pod count",
      [testNode("a"), testNode("b", { labels: { disk: "ssd" } })],
      {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 50,
                preference: {
                  matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }],
                },
              },
            ],
          },
        },
      },
      undefined,
      3,
      ["b", "b", "b"],
    ],
    [
      "pods of one controller spread by host by default; a PreferNoSchedule node (weight 3) stays empty",
      [
        testNode("a"),
        testNode("b"),
        testNode("c", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }),
      ],
      {},
      "rs1",
      6,
      ["a", "b", "a", "b", "a", "b"],
    ],
  ];
  for (const [name, nodes, spec, owner, count, want] of cases) {
    const placed: Array<[Pod, string]> = [];
    const got: string[] = [];
    for (let i = 0; i < count; i++) {
      const p = testPod(`p${i}`, { labels: { app: "web" }, spec, ...(owner ? { owner } : {}) });
      const perNode = (n: string) => placed.filter(([, at]) => at === n).length;
      const r = place(p, candidates(nodes, perNode), { pods: podsOn(placed) });
      if ("node" in r) {
        placed.push([p, r.node]);
        got.push(r.node);
      } else got.push(r.message.slice(0, r.message.indexOf(" preemption:")));
    }
    assert.deepEqual(got, want, name);
  }
});
