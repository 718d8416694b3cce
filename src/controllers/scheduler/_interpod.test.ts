import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, PodAffinityTerm } from "kubernetes-types/core/v1.js";
import { compileInterPod, INTERPOD_REASON } from "./_interpod.ts";
import { podsOn, testPod } from "./_testing.ts";

const HOST = "kubernetes.io/hostname";
const ZONE = "topology.kubernetes.io/zone";
/** Nodes a and b in zone z1, c in z2; d has no zone. */
const NODES: Record<string, Record<string, string>> = {
  a: { [HOST]: "a", [ZONE]: "z1" },
  b: { [HOST]: "b", [ZONE]: "z1" },
  c: { [HOST]: "c", [ZONE]: "z2" },
  d: { [HOST]: "d" },
};
const labelsOf = (n: string) => NODES[n];

type TermExtra = Omit<Partial<PodAffinityTerm>, "labelSelector"> & {
  labelSelector?: PodAffinityTerm["labelSelector"] | undefined;
};
const term = (app: string, topologyKey: string, extra: TermExtra = {}): PodAffinityTerm => {
  const t: PodAffinityTerm = { labelSelector: { matchLabels: { app } }, topologyKey };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete t[k as keyof PodAffinityTerm];
    else Object.assign(t, { [k]: v });
  }
  return t;
};
const web = (name: string, spec: Pod["spec"] = { containers: [] }, namespace = "default") =>
  testPod(name, { labels: { app: "web" }, namespace, spec });
const antiWeb = (key: string, extra: TermExtra = {}) =>
  web("new", {
    containers: [],
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [term("web", key, extra)],
      },
    },
  });
const nearDb = (key: string, labels = { app: "web" }) =>
  testPod("new", {
    labels,
    spec: {
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("db", key)] },
      },
    },
  });

test("compileInterPod filters nodes by required pod affinity and anti-affinity, in kube's words", () => {
  const A = INTERPOD_REASON.affinity;
  const N = INTERPOD_REASON.antiAffinity;
  const E = INTERPOD_REASON.existingAntiAffinity;
  // [case, incoming pod, pods on nodes, namespace labels, verdict for nodes a, b, c, d]
  const cases: Array<
    [string, Pod, Array<[Pod, string]>, Record<string, Record<string, string>>, unknown[]]
  > = [
    ["no affinity anywhere", web("new"), [[web("w1"), "a"]], {}, []],
    ["anti-affinity by host", antiWeb(HOST), [[web("w1"), "a"]], {}, [N, 0, 0, 0]],
    ["anti-affinity by zone", antiWeb(ZONE), [[web("w1"), "a"]], {}, [N, N, 0, 0]],
    ["anti-affinity, no match yet", antiWeb(HOST), [], {}, [0, 0, 0, 0]],
    [
      "anti-affinity looks in the pod's own namespace only",
      antiWeb(HOST),
      [[web("w1", undefined, "other"), "a"]],
      {},
      [0, 0, 0, 0],
    ],
    [
      "anti-affinity over listed namespaces",
      antiWeb(HOST, { namespaces: ["other"] }),
      [[web("w1", undefined, "other"), "a"]],
      {},
      [N, 0, 0, 0],
    ],
    [
      "anti-affinity over every namespace",
      antiWeb(HOST, { namespaceSelector: {} }),
      [[web("w1", undefined, "other"), "b"]],
      {},
      [0, N, 0, 0],
    ],
    [
      "anti-affinity over namespaces by label",
      antiWeb(HOST, { namespaceSelector: { matchLabels: { team: "x" } } }),
      [
        [web("w1", undefined, "other"), "b"],
        [web("w2", undefined, "third"), "c"],
      ],
      { other: { team: "x" }, third: { team: "y" } },
      [0, N, 0, 0],
    ],
    [
      "a term without a selector matches no pod",
      antiWeb(HOST, { labelSelector: undefined }),
      [[web("w1"), "a"]],
      {},
      [0, 0, 0, 0],
    ],
    [
      "affinity by zone",
      nearDb(ZONE),
      [[testPod("db", { labels: { app: "db" } }), "c"]],
      {},
      [A, A, 0, A],
    ],
    ["affinity, nothing matches, the pod not its own match", nearDb(ZONE), [], {}, [A, A, A, A]],
    [
      "affinity, first of a group that matches itself (nodes without the key still refused)",
      nearDb(ZONE, { app: "db" }),
      [],
      {},
      [0, 0, 0, A],
    ],
    [
      "existing pod's anti-affinity keeps this pod off its host",
      web("new"),
      [
        [
          testPod("loner", {
            labels: { app: "loner" },
            spec: {
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)],
                },
              },
            },
          }),
          "c",
        ],
      ],
      {},
      [0, 0, E, 0],
    ],
  ];
  for (const [name, pod, placed, nsLabels, want] of cases) {
    const check = compileInterPod(pod, podsOn(placed, nsLabels), labelsOf);
    const got = ["a", "b", "c", "d"].map((n) => check?.filter(NODES[n] ?? {}) ?? 0);
    const expected = want.length === 0 ? [0, 0, 0, 0] : want;
    assert.deepEqual(
      got.map((g) => g ?? 0),
      expected,
      name,
    );
    if (want.length === 0) assert.equal(check, undefined, `${name}: nothing compiled`);
  }
});

test("compileInterPod scores preferred terms by weight in each topology domain", () => {
  const db = testPod("db", { labels: { app: "db" } });
  const preferring = (kind: "podAffinity" | "podAntiAffinity", weight: number) =>
    web("new", {
      containers: [],
      affinity: {
        [kind]: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight, podAffinityTerm: term("db", ZONE) },
          ],
        },
      },
    });
  // [case, pod, pods on nodes, raw scores of a, b, c, d]
  const cases: Array<[string, Pod, Array<[Pod, string]>, number[]]> = [
    ["near db in z2", preferring("podAffinity", 10), [[db, "c"]], [0, 0, 10, 0]],
    [
      "two db pods in z1",
      preferring("podAffinity", 10),
      [
        [db, "a"],
        [db, "b"],
      ],
      [20, 20, 0, 0],
    ],
    ["away from db in z1", preferring("podAntiAffinity", 5), [[db, "a"]], [-5, -5, 0, 0]],
    [
      "another pod's required affinity to this one counts 1 (hardPodAffinityWeight)",
      web("new"),
      [
        [
          testPod("fan", {
            labels: { app: "fan" },
            spec: {
              affinity: {
                podAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)],
                },
              },
            },
          }),
          "b",
        ],
      ],
      [0, 1, 0, 0],
    ],
  ];
  for (const [name, pod, placed, want] of cases) {
    const check = compileInterPod(pod, podsOn(placed), labelsOf);
    const score = check?.score;
    assert.ok(score, name);
    assert.deepEqual(
      ["a", "b", "c", "d"].map((n) => score(NODES[n] ?? {})),
      want,
      name,
    );
  }
});
