import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { podEndpointsChanged } from "./_servicepods.ts";

const base: Pod = {
  metadata: { name: "p", namespace: "default", labels: { app: "web" } },
  spec: { containers: [{ name: "c" }] },
  status: {
    phase: "Running",
    podIP: "127.244.0.5",
    podIPs: [{ ip: "127.244.0.5" }],
    conditions: [{ type: "Ready", status: "True" }],
  },
};
const edit = (f: (p: Pod) => void): Pod => {
  const p = structuredClone(base);
  f(p);
  return p;
};

test("podEndpointsChanged is true exactly for the changes that can move an endpoint", () => {
  const cases: Array<[string, Pod, boolean]> = [
    ["nothing", edit(() => {}), false],
    ["bound to a node", edit((p) => Object.assign(p.spec!, { nodeName: "n" })), false],
    ["a container status", edit((p) => Object.assign(p.status!, { containerStatuses: [] })), false],
    ["an annotation", edit((p) => Object.assign(p.metadata!, { annotations: { a: "b" } })), false],
    ["labels", edit((p) => Object.assign(p.metadata!, { labels: { app: "db" } })), true],
    ["hostname", edit((p) => Object.assign(p.spec!, { hostname: "h" })), true],
    ["subdomain", edit((p) => Object.assign(p.spec!, { subdomain: "s" })), true],
    [
      "deletion",
      edit((p) => Object.assign(p.metadata!, { deletionTimestamp: "2026-01-01T00:00:00Z" })),
      true,
    ],
    [
      "readiness",
      edit((p) => Object.assign(p.status!, { conditions: [{ type: "Ready", status: "False" }] })),
      true,
    ],
    ["phase", edit((p) => Object.assign(p.status!, { phase: "Succeeded" })), true],
    [
      "pod IP",
      edit((p) =>
        Object.assign(p.status!, { podIP: "127.244.0.6", podIPs: [{ ip: "127.244.0.6" }] }),
      ),
      true,
    ],
  ];
  for (const [name, cur, want] of cases) assert.equal(podEndpointsChanged(base, cur), want, name);
});
