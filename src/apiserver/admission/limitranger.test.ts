import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import {
  aggregateMessage,
  applyLimitRangeDefaults,
  claimLimitErrors,
  LIMIT_RANGER_ANNOTATION,
  podLimitErrors,
} from "./limitranger.ts";

const range = (name: string, ...limits: object[]) =>
  ({ metadata: { name }, spec: { limits } }) as KubeObject;
const pod = (...containers: object[]) =>
  ({ metadata: { name: "p" }, spec: { containers } }) as KubeObject;

test("applyLimitRangeDefaults fills only what a container leaves unset and says so in the annotation", () => {
  const p = pod(
    { name: "a" },
    { name: "b", resources: { limits: { cpu: "2" }, requests: { cpu: "2" } } },
  );
  const ranges = [
    range("lr", {
      type: "Container",
      default: { cpu: "500m", memory: "128Mi" },
      defaultRequest: { cpu: "250m", memory: "64Mi" },
    }),
  ];
  assert.equal(applyLimitRangeDefaults(p, ranges), true);
  const [a, b] = (p.spec as { containers: Array<{ resources: unknown }> }).containers;
  assert.deepEqual(a?.resources, {
    limits: { cpu: "500m", memory: "128Mi" },
    requests: { cpu: "250m", memory: "64Mi" },
  });
  assert.deepEqual(b?.resources, {
    limits: { cpu: "2", memory: "128Mi" },
    requests: { cpu: "2", memory: "64Mi" },
  });
  assert.equal(
    p.metadata.annotations?.[LIMIT_RANGER_ANNOTATION],
    "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; memory request for container b; memory limit for container b",
  );
  assert.equal(applyLimitRangeDefaults(pod({ name: "c" }), [range("pvc", { type: "Pod" })]), false);
});

test("podLimitErrors words each min, max and ratio refusal as kube's LimitRanger", () => {
  const cases: Array<[string, object, object, string[]]> = [
    [
      "within bounds",
      { min: { cpu: "100m" }, max: { cpu: "1" } },
      { requests: { cpu: "200m" }, limits: { cpu: "500m" } },
      [],
    ],
    [
      "no request under a min",
      { min: { cpu: "100m" } },
      {},
      ["minimum cpu usage per Container is 100m.  No request is specified"],
    ],
    [
      "request under the min",
      { min: { cpu: "100m" } },
      { requests: { cpu: "50m" } },
      ["minimum cpu usage per Container is 100m, but request is 50m"],
    ],
    [
      "limit under the min",
      { min: { memory: "1Gi" } },
      { requests: { memory: "1Gi" }, limits: { memory: "512Mi" } },
      ["minimum memory usage per Container is 1Gi, but limit is 512Mi"],
    ],
    [
      "no limit under a max",
      { max: { cpu: "1" } },
      { requests: { cpu: "1" } },
      ["maximum cpu usage per Container is 1.  No limit is specified"],
    ],
    [
      "limit over the max",
      { max: { cpu: "1" } },
      { limits: { cpu: "1500m" } },
      ["maximum cpu usage per Container is 1, but limit is 1500m"],
    ],
    [
      "ratio over the max",
      { maxLimitRequestRatio: { cpu: "2" } },
      { requests: { cpu: "100m" }, limits: { cpu: "300m" } },
      ["cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000"],
    ],
    [
      "ratio without a request",
      { maxLimitRequestRatio: { cpu: "2" } },
      { limits: { cpu: "300m" } },
      [
        "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0",
      ],
    ],
    [
      "two failures",
      { min: { cpu: "1" }, max: { memory: "1Gi" } },
      { requests: { cpu: "500m" }, limits: { memory: "2Gi" } },
      [
        "minimum cpu usage per Container is 1, but request is 500m",
        "maximum memory usage per Container is 1Gi, but limit is 2Gi",
      ],
    ],
  ];
  for (const [what, item, resources, want] of cases) {
    const got = podLimitErrors(pod({ name: "c", resources }), [
      range("lr", { type: "Container", ...item }),
    ]);
    assert.deepEqual(got, want, what);
  }
  assert.equal(aggregateMessage(["a"]), "a");
  assert.equal(aggregateMessage(["a", "b"]), "[a, b]");
});

test("podLimitErrors sums a pod's containers for Pod items; claimLimitErrors bounds storage", () => {
  const p = pod(
    { name: "a", resources: { limits: { cpu: "600m" }, requests: { cpu: "600m" } } },
    { name: "b", resources: { limits: { cpu: "600m" }, requests: { cpu: "600m" } } },
  );
  assert.deepEqual(podLimitErrors(p, [range("lr", { type: "Pod", max: { cpu: "1" } })]), [
    "maximum cpu usage per Pod is 1, but limit is 1200m",
  ]);
  const claim = {
    metadata: { name: "c" },
    spec: { resources: { requests: { storage: "5Gi" } } },
  } as KubeObject;
  const bounds = [
    range("lr", {
      type: "PersistentVolumeClaim",
      min: { storage: "1Gi" },
      max: { storage: "2Gi" },
    }),
  ];
  assert.deepEqual(claimLimitErrors(claim, bounds), [
    "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi",
  ]);
});
