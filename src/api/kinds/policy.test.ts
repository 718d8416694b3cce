import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { limitRangeStrategy } from "./limitrange.ts";
import { podDisruptionBudgetStrategy } from "./pdb.ts";
import { quotaCells, resourceQuotaStrategy } from "./resourcequota.ts";
import type { KindStrategy } from "./types.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");

function check(strategy: KindStrategy, spec: unknown): string[] {
  const obj = {
    metadata: { name: "x", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec,
  } as KubeObject;
  strategy.applyDefaults(obj);
  strategy.prepareForCreate?.(obj);
  return lines(strategy.validate(obj));
}

test("PodDisruptionBudget validation words each refusal as kube-apiserver 1.32", () => {
  const selector = { matchLabels: { app: "web" } };
  const cases: Array<[string, object, string[]]> = [
    ["a count", { minAvailable: 2, selector }, []],
    ["a percentage", { maxUnavailable: "25%", selector }, []],
    [
      "a negative count",
      { minAvailable: -1, selector },
      ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"],
    ],
    [
      "over 100%",
      { maxUnavailable: "150%", selector },
      [
        'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
      ],
    ],
    [
      "not a percentage",
      { minAvailable: "half", selector },
      [
        `spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"half"}: must be an integer or percentage (e.g '5%')`,
      ],
    ],
    [
      "an unknown eviction policy",
      { minAvailable: 1, selector, unhealthyPodEvictionPolicy: "Never" },
      [
        'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"',
      ],
    ],
  ];
  for (const [what, spec, want] of cases)
    assert.deepEqual(check(podDisruptionBudgetStrategy, spec), want, what);
  const both = check(podDisruptionBudgetStrategy, { minAvailable: 1, maxUnavailable: 1, selector });
  assert.match(
    both[0] ?? "",
    /^spec: Invalid value: .*: minAvailable and maxUnavailable cannot be both set$/,
  );
});

test("PodDisruptionBudget rows show N/A for the bound not set, and the allowed disruptions", () => {
  const pdb = {
    metadata: { name: "web", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { minAvailable: "50%" },
    status: { disruptionsAllowed: 1 },
  } as KubeObject;
  assert.deepEqual(podDisruptionBudgetStrategy.row(pdb, NOW), ["web", "50%", "N/A", 1, "60m"]);
});

test("ResourceQuota validation words each refusal as kube-apiserver 1.32", () => {
  const cases: Array<[string, object, string[]]> = [
    [
      "standard names and counts",
      { hard: { pods: "10", "requests.cpu": "1500m", "count/deployments.apps": "2" } },
      [],
    ],
    [
      "a negative quantity",
      { hard: { "limits.memory": "-1Gi" } },
      ['spec.hard[limits.memory]: Invalid value: "-1Gi": must be greater than or equal to 0'],
    ],
    [
      "a fractional count",
      { hard: { pods: "1500m" } },
      ['spec.hard[pods]: Invalid value: "1500m": must be an integer'],
    ],
    [
      "an unknown name",
      { hard: { dongles: "1" } },
      [
        'spec.hard[dongles]: Invalid value: "dongles": must be a standard resource type or fully qualified',
        'spec.hard[dongles]: Invalid value: "dongles": must be a standard resource for quota',
      ],
    ],
    [
      "a scope for pods only on services",
      { hard: { services: "1" }, scopes: ["BestEffort"] },
      [
        'spec.scopes: Invalid value: []core.ResourceQuotaScope{"BestEffort"}: unsupported scope applied to resource',
      ],
    ],
    [
      "conflicting scopes",
      { hard: { pods: "1" }, scopes: ["Terminating", "NotTerminating"] },
      [
        'spec.scopes: Invalid value: []core.ResourceQuotaScope{"Terminating", "NotTerminating"}: conflicting scopes',
      ],
    ],
  ];
  for (const [what, spec, want] of cases)
    assert.deepEqual(check(resourceQuotaStrategy, spec), want, what);
});

test("quotaCells puts limits.* under LIMIT and the rest under REQUEST, used/hard, canonical", () => {
  const quota = {
    metadata: { name: "q" },
    status: {
      hard: { pods: "10", "limits.cpu": "2", "requests.memory": "1024Mi" },
      used: { pods: "3", "limits.cpu": "1500m" },
    },
  } as KubeObject;
  assert.deepEqual(quotaCells(quota), [
    "pods: 3/10, requests.memory: 0/1Gi",
    "limits.cpu: 1500m/2",
  ]);
});

test("LimitRange defaults Container items as kube and words each refusal as kube-apiserver 1.32", () => {
  const lr = {
    metadata: { name: "l", namespace: "default" },
    spec: { limits: [{ type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" } }] },
  } as KubeObject;
  limitRangeStrategy.applyDefaults(lr);
  assert.deepEqual(lr.spec, {
    limits: [
      {
        type: "Container",
        max: { cpu: "2" },
        min: { memory: "64Mi" },
        default: { cpu: "2" },
        defaultRequest: { cpu: "2", memory: "64Mi" },
      },
    ],
  });
  const cases: Array<[string, object, string[]]> = [
    [
      "min over max",
      { limits: [{ type: "Container", min: { cpu: "2" }, max: { cpu: "1" } }] },
      [
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
        'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
        'spec.limits[0].default[cpu]: Invalid value: "2": min value 2 is greater than default value 1',
      ],
    ],
    [
      "a ratio under 1",
      { limits: [{ type: "Container", maxLimitRequestRatio: { cpu: "500m" } }] },
      [
        'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1',
      ],
    ],
    [
      "defaults on a Pod item",
      { limits: [{ type: "Pod", default: { cpu: "1" } }] },
      ["spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"],
    ],
    [
      "a claim item without storage bounds",
      { limits: [{ type: "PersistentVolumeClaim" }] },
      [
        "spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
      ],
    ],
  ];
  for (const [what, spec, want] of cases)
    assert.deepEqual(check(limitRangeStrategy, spec), want, what);
});
