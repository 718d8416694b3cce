import assert from "node:assert/strict";
import { test } from "node:test";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { allocatable, podRequests, shortfalls } from "./_resources.ts";

const c = (requests?: Record<string, string>, restartPolicy?: string): Container => ({
  name: "c",
  ...(requests ? { resources: { requests } } : {}),
  ...(restartPolicy ? { restartPolicy } : {}),
});

test("podRequests sums app containers and sidecars, takes the largest init container, adds overhead", () => {
  // [case, spec, wanted requests in thousandths]
  const cases: Array<[string, Pod["spec"], Record<string, number>]> = [
    ["no requests (BestEffort)", { containers: [c()] }, {}],
    [
      "one container",
      { containers: [c({ cpu: "500m", memory: "128Mi" })] },
      { cpu: 500, memory: 128 * 2 ** 20 * 1000 },
    ],
    [
      "containers are summed, exactly",
      { containers: [c({ cpu: "100m" }), c({ cpu: "100m" }), c({ cpu: "100m" })] },
      { cpu: 300 },
    ],
    [
      "kube's example: init 2 CPU/1G and 2 CPU/3G, containers 2+1 CPU, 1G+1G → 3 CPU, 3G",
      {
        initContainers: [c({ cpu: "2", memory: "1G" }), c({ cpu: "2", memory: "3G" })],
        containers: [c({ cpu: "2", memory: "1G" }), c({ cpu: "1", memory: "1G" })],
      },
      { cpu: 3000, memory: 3e12 },
    ],
    [
      "a sidecar (init, restartPolicy Always) runs beside the containers",
      { initContainers: [c({ cpu: "250m" }, "Always")], containers: [c({ cpu: "1" })] },
      { cpu: 1250 },
    ],
    [
      "overhead on top",
      { containers: [c({ cpu: "1" })], overhead: { cpu: "250m" } },
      { cpu: 1250 },
    ],
    [
      "zero requests are left out",
      { containers: [c({ cpu: "0", "example.com/gpu": "1" })] },
      { "example.com/gpu": 1000 },
    ],
    ["a fraction rounds up, as MilliValue", { containers: [c({ cpu: "0.0001" })] }, { cpu: 1 }],
  ];
  for (const [name, spec, want] of cases)
    assert.deepEqual(podRequests({ spec } as Pod), want, name);
});

test("shortfalls names each resource the node lacks, given what its pods requested", () => {
  const node = allocatable({ status: { allocatable: { cpu: "2", memory: "1Gi", pods: "110" } } });
  assert.deepEqual(node, { cpu: 2000, memory: 2 ** 30 * 1000 }, "pods is counted apart");
  // [case, request, already requested on the node, wanted]
  const cases: Array<[string, Record<string, number>, Record<string, number>, string[]]> = [
    ["fits", { cpu: 1000 }, { cpu: 1000 }, []],
    ["one millicore too many", { cpu: 1001 }, { cpu: 1000 }, ["Insufficient cpu"]],
    [
      "both",
      { cpu: 3000, memory: 2 ** 31 * 1000 },
      {},
      ["Insufficient cpu", "Insufficient memory"],
    ],
    [
      "a resource the node does not have",
      { "example.com/gpu": 1000 },
      {},
      ["Insufficient example.com/gpu"],
    ],
  ];
  for (const [name, req, used, want] of cases)
    assert.deepEqual(shortfalls(req, node, used), want, name);
});
