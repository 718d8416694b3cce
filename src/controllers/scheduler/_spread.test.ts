import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, TopologySpreadConstraint } from "kubernetes-types/core/v1.js";
import { tolerates } from "../_placement.ts";
import { nodeFacts } from "./_fit.ts";
import { compileSpread, SPREAD_REASON } from "./_spread.ts";
import { podsOn, testNode, testPod } from "./_testing.ts";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";
/** a and b in z1, c in z2, d without a zone. */
const NODES = [
  testNode("a", { labels: { [ZONE]: "z1" } }),
  testNode("b", { labels: { [ZONE]: "z1" } }),
  testNode("c", {
    labels: { [ZONE]: "z2" },
    taints: [{ key: "spot", effect: "NoSchedule" }],
  }),
  testNode("d"),
].map(nodeFacts);

const web = (name: string, owner?: string) =>
  testPod(name, { labels: { app: "web" }, ...(owner ? { owner } : {}) });
const constraint = (
  topologyKey: string,
  extra: Partial<TopologySpreadConstraint> = {},
): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey,
  whenUnsatisfiable: "DoNotSchedule",
  labelSelector: { matchLabels: { app: "web" } },
  ...extra,
});
const spreading = (
  constraints: TopologySpreadConstraint[],
  spec: Partial<NonNullable<Pod["spec"]>> = {},
  labels: Record<string, string> = { app: "web" },
) => testPod("new", { labels, spec: { topologySpreadConstraints: constraints, ...spec } });

function compile(pod: Pod, placed: Array<[Pod, string]>) {
  const tolerations = pod.spec?.tolerations ?? [];
  return compileSpread(pod, NODES, {
    pods: podsOn(placed),
    checks: {
      matchesAffinity: (n) =>
        Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => n.labels[k] === v),
      toleratesTaints: (n) => n.taints.every((t) => tolerates(tolerations, t)),
    },
  });
}

test("compileSpread's filter keeps each DoNotSchedule constraint's skew within maxSkew, as kube", () => {
  const S = SPREAD_REASON.constraints;
  const M = SPREAD_REASON.missingLabel;
  const twoInA: Array<[Pod, string]> = [
    [web("w1"), "a"],
    [web("w2"), "a"],
  ];
  // [case, pod, pods on nodes, verdict for a, b, c, d]
  const cases: Array<[string, Pod, Array<[Pod, string]>, unknown[]]> = [
    ["by zone: z1 has two, z2 none", spreading([constraint(ZONE)]), twoInA, [S, S, 0, M]],
    ["by host: a has two", spreading([constraint(HOST)]), twoInA, [S, 0, 0, 0]],
    ["maxSkew 3 allows it", spreading([constraint(HOST, { maxSkew: 3 })]), twoInA, [0, 0, 0, 0]],
    [
      "a pod its selector does not match adds no skew",
      spreading([constraint(HOST, { maxSkew: 2 })], {}, { app: "other" }),
      twoInA,
      [0, 0, 0, 0],
    ],
    ["empty cluster", spreading([constraint(ZONE)]), [], [0, 0, 0, M]],
    [
      "one each in z1 and z2: fine",
      spreading([constraint(ZONE)]),
      [
        [web("w1"), "a"],
        [web("w2"), "c"],
      ],
      [0, 0, 0, M],
    ],
    [
      "minDomains 3 with two zones: the emptiest counts 0",
      spreading([constraint(ZONE, { minDomains: 3 })]),
      [
        [web("w1"), "a"],
        [web("w2"), "c"],
      ],
      [S, S, S, M],
    ],
    [
      // c fails NodeAffinity before this filter; as a non-domain it counts 0 here.
      "nodeAffinityPolicy Honor: only z1 is a domain, so z1's two are the minimum",
      spreading([constraint(ZONE)], { nodeSelector: { [ZONE]: "z1" } }),
      twoInA,
      [0, 0, 0, M],
    ],
    [
      "nodeAffinityPolicy Ignore: z2 counts (with 0)",
      spreading([constraint(ZONE, { nodeAffinityPolicy: "Ignore" })], {
        nodeSelector: { [ZONE]: "z1" },
      }),
      twoInA,
      [S, S, 0, M],
    ],
    [
      "nodeTaintsPolicy Honor: the tainted z2 is no domain",
      spreading([constraint(ZONE, { nodeTaintsPolicy: "Honor" })]),
      twoInA,
      [0, 0, 0, M],
    ],
    [
      "matchLabelKeys narrow the selector with the pod's own values",
      testPod("new", {
        labels: { app: "web", rev: "2" },
        spec: { topologySpreadConstraints: [constraint(HOST, { matchLabelKeys: ["rev"] })] },
      }),
      twoInA,
      [0, 0, 0, 0],
    ],
    [
      "terminating pods do not count",
      spreading([constraint(HOST)]),
      [
        [{ ...web("w1"), metadata: { ...web("w1").metadata, deletionTimestamp: "x" } }, "a"],
        [web("w2"), "b"],
      ],
      [0, S, 0, 0],
    ],
  ];
  for (const [name, pod, placed, want] of cases) {
    const spread = compile(pod, placed);
    assert.deepEqual(
      NODES.map((n) => spread?.filter(n) ?? 0),
      want,
      name,
    );
  }
});

test("compileSpread scores ScheduleAnyway constraints and kube's default spreading by controller", () => {
  const soft = (key: string) => constraint(key, { whenUnsatisfiable: "ScheduleAnyway" });
  // [case, pod, pods on nodes, scores of a, b, c, d (all feasible)]
  const cases: Array<[string, Pod, Array<[Pod, string]>, number[] | undefined]> = [
    ["nothing to spread", testPod("new"), [], undefined],
    ["empty: all equal", spreading([soft(HOST)]), [], [100, 100, 100, 100]],
    [
      "by host: the busy node lowest",
      spreading([soft(HOST)]),
      [
        [web("w1"), "a"],
        [web("w2"), "a"],
      ],
      [0, 100, 100, 100],
    ],
    [
      "by zone: nodes without the key score 0",
      spreading([soft(ZONE)]),
      [[web("w1"), "a"]],
      [0, 0, 100, 0],
    ],
    [
      "system default: pods of the same controller, by host (zones where labelled)",
      testPod("new", { labels: { app: "web" }, owner: "rs1" }),
      [
        [web("w1", "rs1"), "b"],
        [web("w2", "rs1"), "b"],
        [web("w3", "rs2"), "c"],
        [web("w4", "rs2"), "c"],
      ],
      // raw: a 0·ln6+2 + 2·ln4+4 ≈ 9, b 2·ln6+2 + 2·ln4+4 ≈ 12, c 2 + 4 = 6, d 2 (no zone term);
      // normalised 100·(max+min−s)/max.
      [41, 16, 66, 100],
    ],
  ];
  for (const [name, pod, placed, want] of cases) {
    const score = compile(pod, placed)?.score;
    assert.deepEqual(score?.(NODES), want, name);
  }
});
