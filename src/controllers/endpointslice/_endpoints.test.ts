import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { desiredGroups, podEndpoint, resolveTargetPort } from "./_endpoints.ts";

function pod(
  name: string,
  o: {
    ip?: string;
    ready?: boolean;
    phase?: string;
    deleting?: boolean;
    hostname?: string;
    subdomain?: string;
    ports?: Array<{ name: string; containerPort: number }>;
  } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      containers: [{ name: "c", ...(o.ports ? { ports: o.ports } : {}) }],
      nodeName: "node",
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? "Running",
      ...(o.ip === undefined ? { podIP: "127.244.0.2" } : o.ip ? { podIP: o.ip } : {}),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

const svc = (spec: Service["spec"] = {}): Service => ({
  metadata: { name: "web", namespace: "default", uid: "svc-uid" },
  spec: { ports: [{ name: "http", port: 80, targetPort: 8080 as unknown as never }], ...spec },
});

test("podEndpoint sets the conditions as the EndpointSlice controller does", () => {
  const cases: Array<
    [string, Pod, Service, { ready: boolean; serving: boolean; terminating: boolean } | undefined]
  > = [
    ["ready pod", pod("a"), svc(), { ready: true, serving: true, terminating: false }],
    [
      "unready pod",
      pod("a", { ready: false }),
      svc(),
      { ready: false, serving: false, terminating: false },
    ],
    [
      "terminating ready pod",
      pod("a", { deleting: true }),
      svc(),
      { ready: false, serving: true, terminating: true },
    ],
    [
      "publishNotReadyAddresses",
      pod("a", { ready: false }),
      svc({ publishNotReadyAddresses: true }),
      { ready: true, serving: false, terminating: false },
    ],
    ["pod without IP", pod("a", { ip: "" }), svc(), undefined],
    ["succeeded pod", pod("a", { phase: "Succeeded" }), svc(), undefined],
    ["failed pod", pod("a", { phase: "Failed" }), svc(), undefined],
  ];
  for (const [name, p, s, want] of cases) {
    assert.deepEqual(podEndpoint(s, p)?.conditions, want, name);
  }
});

test("podEndpoint sets hostname only when the subdomain names the Service", () => {
  assert.equal(
    podEndpoint(svc(), pod("web-0", { hostname: "web-0", subdomain: "web" }))?.hostname,
    "web-0",
  );
  assert.equal(
    podEndpoint(svc(), pod("web-0", { hostname: "web-0", subdomain: "other" }))?.hostname,
    undefined,
  );
  assert.equal(podEndpoint(svc(), pod("web-0", { subdomain: "web" }))?.hostname, undefined);
});

test("resolveTargetPort resolves numbers, numeric strings, names and defaults", () => {
  const p = pod("a", { ports: [{ name: "http", containerPort: 8080 }] });
  assert.equal(resolveTargetPort(p, 9090, 80), 9090);
  assert.equal(resolveTargetPort(p, "9091", 80), 9091);
  assert.equal(resolveTargetPort(p, "http", 80), 8080);
  assert.equal(resolveTargetPort(p, "nope", 80), undefined);
  assert.equal(resolveTargetPort(p, undefined, 80), 80);
});

test("desiredGroups splits pods whose named targetPort resolves differently", () => {
  const s = svc({ ports: [{ name: "http", port: 80, targetPort: "http" as unknown as never }] });
  const groups = desiredGroups(s, [
    pod("a", { ip: "127.244.0.2", ports: [{ name: "http", containerPort: 8080 }] }),
    pod("b", { ip: "127.244.0.3", ports: [{ name: "http", containerPort: 9090 }] }),
    pod("c", { ip: "127.244.0.4", ports: [{ name: "http", containerPort: 8080 }] }),
  ]);
  assert.equal(groups.length, 2);
  const by8080 = groups.find((g) => g.ports[0]?.port === 8080)!;
  assert.deepEqual(
    by8080.endpoints.map((e) => e.addresses[0]),
    ["127.244.0.2", "127.244.0.4"],
  );
});
