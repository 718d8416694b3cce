import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { type Candidate, nodeFacts, place } from "./_fit.ts";
import { podRequests } from "./_resources.ts";
import { podsOn, testNode, testPod } from "./_testing.ts";

/** Candidates whose loads are the placed pods' counts and requests. */
function loaded(nodes: Node[], placed: Array<[Pod, string]>): Candidate[] {
  return nodes.map((n) => {
    const facts = nodeFacts(n);
    const requested: Record<string, number> = {};
    let pods = 0;
    for (const [p, at] of placed) {
      if (at !== facts.name) continue;
      pods++;
      for (const [k, v] of Object.entries(podRequests(p))) requested[k] = (requested[k] ?? 0) + v;
    }
    return { facts, load: { pods, requested } };
  });
}

const cpuNode = (name: string): Node => {
  const n = testNode(name);
  return { ...n, status: { ...n.status, allocatable: { cpu: "2", pods: "110" } } };
};
const asking = (
  name: string,
  cpu: string,
  priority: number,
  extra: Partial<NonNullable<Pod["spec"]>> = {},
  labels: Record<string, string> = {},
) =>
  testPod(name, {
    labels,
    spec: {
      priority,
      containers: [{ name: "c", resources: { requests: { cpu } } }],
      ...extra,
    },
  });

test("place preempts lower-priority pods as kube's DefaultPreemption picks them, or says why not", () => {
  const low1 = asking("low1", "800m", 1);
  const low5 = asking("low5", "800m", 5);
  const big = asking("big", "1500m", 0);
  const antiWeb = {
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" },
        ],
      },
    },
  };
  // [case, nodes, pods on them, incoming pod, victims on a node, or the whole message]
  const cases: Array<[string, Node[], Array<[Pod, string]>, Pod, string]> = [
    [
      "a lower-priority pod makes room",
      [cpuNode("a")],
      [[big, "a"]],
      asking("p", "1", 100),
      "a: big",
    ],
    [
      "the victim is the least important that is enough",
      [cpuNode("a")],
      [
        [low1, "a"],
        [low5, "a"],
      ],
      asking("p", "1", 10),
      "a: low1",
    ],
    [
      "the node whose most important victim has the lowest priority",
      [cpuNode("a"), cpuNode("b")],
      [
        [asking("v5", "1500m", 5), "a"],
        [asking("v1", "1500m", 1), "b"],
      ],
      asking("p", "1", 10),
      "b: v1",
    ],
    [
      "anti-affinity to a lower-priority pod",
      [cpuNode("a")],
      [[asking("w", "100m", 0, {}, { app: "web" }), "a"]],
      asking("p", "100m", 10, antiWeb, { app: "web" }),
      "a: w",
    ],
    [
      "equal priority: no victims",
      [cpuNode("a"), testNode("t", { taints: [{ key: "x", effect: "NoSchedule" }] })],
      [[big, "a"]],
      asking("p", "1", 0),
      "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {x: }. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
    ],
    [
      "too big even for an empty node: the filter's reason",
      [cpuNode("a")],
      [[big, "a"]],
      asking("p", "3", 100),
      "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.",
    ],
    [
      "preemptionPolicy Never",
      [cpuNode("a")],
      [[big, "a"]],
      asking("p", "1", 100, { preemptionPolicy: "Never" }),
      "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
    ],
    [
      "a victim still terminating on the nominated node",
      [cpuNode("a")],
      [[{ ...big, metadata: { ...big.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } }, "a"]],
      { ...asking("p", "1", 100), status: { nominatedNodeName: "a" } },
      "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.",
    ],
  ];
  for (const [name, nodes, placed, pod, want] of cases) {
    const got = place(pod, loaded(nodes, placed), { pods: podsOn(placed) });
    assert.ok(!("node" in got), `${name}: fits nowhere`);
    const text =
      "message" in got && got.preempt
        ? `${got.preempt.node}: ${got.preempt.victims.map((v) => v.pod.metadata?.name).join(",")}`
        : "message" in got
          ? got.message
          : "";
    assert.equal(text, want, name);
    if ("preempt" in got && got.preempt)
      assert.match(got.message, /^0\/\d+ nodes are available: [^.]*\.$/, `${name}: no verdict`);
  }
});
