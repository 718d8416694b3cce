import assert from "node:assert/strict";
import { test } from "node:test";
import type { Taint, Toleration } from "kubernetes-types/core/v1.js";
import {
  capacityLeft,
  compilePreferredNodeAffinity,
  intolerablePreferNoSchedule,
  normalize,
  normalizeRange,
} from "./_score.ts";
import { testPod } from "./_testing.ts";

test("normalize and normalizeRange scale raw scores to 0–100 as kube's two normalisations do", () => {
  // [case, raw, reverse, DefaultNormalizeScore, InterPodAffinity's min–max]
  const cases: Array<[string, number[], boolean, number[], number[]]> = [
    ["all zero", [0, 0], false, [0, 0], [0, 0]],
    ["all zero, reversed", [0, 0], true, [100, 100], [0, 0]],
    ["best is 100", [1, 2, 4], false, [25, 50, 100], [0, 33, 100]],
    ["reversed: most is 0", [0, 1, 2], true, [100, 50, 0], [0, 50, 100]],
  ];
  for (const [name, raw, reverse, want, wantRange] of cases) {
    assert.deepEqual(normalize(raw, reverse), want, name);
    assert.deepEqual(normalizeRange(raw), wantRange, name);
  }
  // Only inter-pod scores go negative (anti-affinity), and only the range scaling sees them.
  assert.deepEqual(normalizeRange([-5, 0, 5]), [0, 50, 100]);
});

test("intolerablePreferNoSchedule counts the PreferNoSchedule taints no toleration covers", () => {
  const soft: Taint = { key: "spot", value: "yes", effect: "PreferNoSchedule" };
  const hard: Taint = { key: "gpu", effect: "NoSchedule" };
  const cases: Array<[string, Taint[], Toleration[], number]> = [
    ["none", [], [], 0],
    ["one soft taint", [soft, hard], [], 1],
    ["tolerated by key", [soft], [{ key: "spot", operator: "Exists" }], 0],
    [
      "a NoSchedule toleration does not count",
      [soft],
      [{ key: "spot", operator: "Exists", effect: "NoSchedule" }],
      1,
    ],
    ["wrong value", [soft], [{ key: "spot", operator: "Equal", value: "no" }], 1],
  ];
  for (const [name, taints, tolerations, want] of cases)
    assert.equal(intolerablePreferNoSchedule(taints, tolerations), want, name);
});

test("compilePreferredNodeAffinity sums the weights of the matching preferred terms", () => {
  const pod = testPod("p", {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 10,
              preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
            },
            { weight: 3, preference: { matchExpressions: [{ key: "zone", operator: "Exists" }] } },
            {
              weight: 7,
              preference: {
                matchFields: [{ key: "metadata.name", operator: "In", values: ["n9"] }],
              },
            },
          ],
        },
      },
    },
  });
  const score = compilePreferredNodeAffinity(pod);
  assert.ok(score);
  const cases: Array<[Record<string, string>, string, number]> = [
    [{}, "n1", 0],
    [{ disk: "ssd" }, "n1", 10],
    [{ disk: "ssd", zone: "z" }, "n1", 13],
    [{ disk: "hdd", zone: "z" }, "n9", 10],
  ];
  for (const [labels, name, want] of cases)
    assert.equal(score(labels, name), want, `${name} ${JSON.stringify(labels)}`);
  assert.equal(compilePreferredNodeAffinity(testPod("q")), undefined);
});

test("capacityLeft is the share of pod capacity left, 100 where the node gives none", () => {
  assert.deepEqual(
    [
      capacityLeft(0, 110),
      capacityLeft(11, 110),
      capacityLeft(110, 110),
      capacityLeft(5, Infinity),
    ],
    [100, 90, 0, 100],
  );
});
