import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { validateTaints, validateTolerations } from "./_taints.ts";
import type { Obj } from "./_util.ts";
import { keepPriority, mergeAffinityLabelKeys, validatePodScheduling } from "./pod_scheduling.ts";
import { runtimeClassStrategy } from "./runtimeclass.ts";

const messages = (errs: Array<{ field: string; message: string }>) =>
  errs.map((e) => `${e.field}: ${e.message}`);

test("validateTolerations words each problem as kube's ValidateTolerations", () => {
  const cases: Array<[string, object, string[]]> = [
    ["match all", { operator: "Exists" }, []],
    ["equal", { key: "gpu", operator: "Equal", value: "yes", effect: "NoSchedule" }, []],
    [
      "empty key needs Exists",
      { operator: "Equal", value: "x" },
      [
        't[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
      ],
    ],
    [
      "seconds need NoExecute",
      { key: "a", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 },
      [
        "t[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
      ],
    ],
    [
      "unknown effect",
      { key: "a", operator: "Exists", effect: "Sometimes" },
      [
        't[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
      ],
    ],
    [
      "unknown operator",
      { key: "a", operator: "Gt" },
      ['t[0].operator: Unsupported value: "Gt": supported values: "Equal", "Exists"'],
    ],
  ];
  for (const [name, t, want] of cases)
    assert.deepEqual(messages(validateTolerations([t], "t")), want, name);
});

test("validateTaints requires an effect and one taint per key and effect", () => {
  assert.deepEqual(
    messages(validateTaints([{ key: "a", effect: "NoSchedule" }], "spec.taints")),
    [],
  );
  assert.deepEqual(messages(validateTaints([{ key: "a" }], "spec.taints")), [
    "spec.taints[0].effect: Required value",
  ]);
  const dup = messages(
    validateTaints(
      [
        { key: "a", value: "1", effect: "NoSchedule" },
        { key: "a", value: "2", effect: "NoSchedule" },
        { key: "a", value: "3", effect: "NoExecute" },
      ],
      "spec.taints",
    ),
  );
  assert.equal(dup.length, 1);
  assert.match(
    dup[0] ?? "",
    /^spec\.taints\[1\]: Duplicate value: .*: taints must be unique by key and effect pair$/,
  );
});

test("validatePodScheduling checks spread constraints, preemption policy and affinity topology keys", () => {
  const cases: Array<[string, Obj, string[]]> = [
    [
      "a good constraint",
      {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule", minDomains: 2 },
        ],
      },
      [],
    ],
    [
      "bad constraint",
      {
        topologySpreadConstraints: [
          { maxSkew: 0, topologyKey: "", whenUnsatisfiable: "Maybe" },
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway", minDomains: 2 },
        ],
      },
      [
        "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
        "spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty",
        'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"',
        "spec.topologySpreadConstraints[1].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
      ],
    ],
    [
      "repeated key and action",
      {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
          { maxSkew: 2, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
        ],
      },
      [
        'spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, DoNotSchedule}"',
      ],
    ],
    [
      "policy",
      { preemptionPolicy: "Always" },
      [
        'spec.preemptionPolicy: Unsupported value: "Always": supported values: "PreemptLowerPriority", "Never"',
      ],
    ],
    [
      "anti-affinity without a topology key",
      {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { a: "b" } } },
            ],
          },
        },
      },
      [
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty",
      ],
    ],
  ];
  for (const [name, spec, want] of cases)
    assert.deepEqual(messages(validatePodScheduling(spec, "spec")), want, name);
});

test("mergeAffinityLabelKeys adds In and NotIn requirements from the pod's own labels", () => {
  const pod: Obj = {
    metadata: { labels: { app: "web", "pod-template-hash": "abc", tenant: "t1" } },
    spec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { app: "web" } },
              topologyKey: "kubernetes.io/hostname",
              matchLabelKeys: ["pod-template-hash", "missing"],
            },
          ],
        },
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 1,
              podAffinityTerm: {
                labelSelector: {},
                topologyKey: "zone",
                mismatchLabelKeys: ["tenant"],
              },
            },
            { weight: 1, podAffinityTerm: { topologyKey: "zone", matchLabelKeys: ["app"] } },
          ],
        },
      },
    },
  };
  mergeAffinityLabelKeys(pod);
  const affinity = (pod.spec as { affinity: Record<string, Record<string, Obj[]>> }).affinity;
  assert.deepEqual(
    affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.labelSelector,
    {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "pod-template-hash", operator: "In", values: ["abc"] }],
    },
  );
  const preferred = affinity.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  assert.deepEqual((preferred[0]?.podAffinityTerm as Obj | undefined)?.labelSelector, {
    matchExpressions: [{ key: "tenant", operator: "NotIn", values: ["t1"] }],
  });
  assert.equal(
    (preferred[1]?.podAffinityTerm as Obj | undefined)?.labelSelector,
    undefined,
    "no selector: matches nothing",
  );
});

test("keepPriority keeps what Priority admission set when an update leaves it out", () => {
  const spec: Obj = { containers: [] };
  keepPriority(spec, { priority: 1000, preemptionPolicy: "Never" });
  assert.deepEqual(spec, { containers: [], priority: 1000, preemptionPolicy: "Never" });
});

test("RuntimeClass validation: a DNS-label handler that never changes, valid overhead and scheduling", () => {
  const rc = (extra: object): KubeObject =>
    ({ metadata: { name: "x" }, handler: "simulated", ...extra }) as KubeObject;
  assert.deepEqual(runtimeClassStrategy.validate(rc({})), []);
  assert.deepEqual(messages(runtimeClassStrategy.validate(rc({ handler: "Not_A_Label" }))), [
    `handler: Invalid value: "Not_A_Label": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
  ]);
  assert.deepEqual(
    messages(runtimeClassStrategy.validate(rc({ overhead: { podFixed: { cpu: "-1" } } }))),
    ['overhead.podFixed[cpu]: Invalid value: "-1": must be greater than or equal to 0'],
  );
  assert.deepEqual(
    messages(
      runtimeClassStrategy.validate(rc({ scheduling: { tolerations: [{ operator: "Equal" }] } })),
    ),
    [
      'scheduling.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    ],
  );
  assert.deepEqual(
    messages(runtimeClassStrategy.validateUpdate(rc({ handler: "process" }), rc({}))),
    ['handler: Invalid value: "process": field is immutable'],
  );
});
