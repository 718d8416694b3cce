import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import { misfit, place } from "./_fit.ts";

function node(
  name: string,
  o: {
    ready?: boolean;
    labels?: Record<string, string>;
    taints?: Taint[];
    cordoned?: boolean;
  } = {},
): Node {
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: {
      ...(o.taints ? { taints: o.taints } : {}),
      ...(o.cordoned ? { unschedulable: true } : {}),
    },
    status: { conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
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
  const got = place(pod(), [node("a"), node("c"), node("b")], (n) => counts[n] ?? 0);
  assert.deepEqual(got, { node: "b" });
  const onlyA = place(
    pod({ nodeSelector: { z: "1" } }),
    [node("a", { labels: { z: "1" } }), node("b")],
    (n) => counts[n] ?? 0,
  );
  assert.deepEqual(onlyA, { node: "a" });
});

test("place prints kube's FitError with counted, sorted reasons", () => {
  const got = place(
    pod({ nodeSelector: { disk: "ssd" } }),
    [node("a"), node("b"), node("c", { labels: { disk: "ssd" }, ready: false })],
    () => 0,
  );
  assert.deepEqual(got, {
    message:
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  });
  assert.deepEqual(
    place(pod(), [], () => 0),
    { message: "no nodes available to schedule pods" },
  );
});
