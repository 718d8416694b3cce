import assert from "node:assert/strict";
import { test } from "node:test";
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice, Endpoint as SliceEndpoint } from "kubernetes-types/discovery/v1.js";
import type { PortGroup } from "./_endpoints.ts";
import { MANAGED_BY, planSlices } from "./_plan.ts";

const service: Service = {
  metadata: { name: "web", namespace: "default", uid: "u", labels: { app: "web" } },
  spec: {},
};
const ports = [{ name: "http", port: 8080, protocol: "TCP" }];
const opts = { maxEndpointsPerSlice: 3, triggerTime: "2026-01-01T00:00:00Z" };

function ep(i: number, ready = true): SliceEndpoint {
  return {
    addresses: [`127.244.0.${i}`],
    conditions: { ready, serving: ready, terminating: false },
    targetRef: { kind: "Pod", name: `p${i}`, namespace: "default", uid: `uid-${i}` },
  };
}
function group(eps: SliceEndpoint[]): PortGroup {
  return { key: "http/TCP/8080/", ports, endpoints: eps };
}
function slice(name: string, eps: SliceEndpoint[], p = ports): EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: {
      name,
      namespace: "default",
      labels: {
        app: "web",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
      },
    },
    endpoints: eps,
    ports: p,
  };
}

test("planSlices creates slices of at most the maximum size", () => {
  const plan = planSlices(service, [group([ep(1), ep(2), ep(3), ep(4)])], [], opts);
  assert.equal(plan.create.length, 2);
  assert.deepEqual(
    plan.create.map((s) => s.endpoints.length),
    [3, 1],
  );
  const s = plan.create[0]!;
  assert.equal(s.metadata?.generateName, "web-");
  assert.equal(s.metadata?.labels?.["kubernetes.io/service-name"], "web");
  assert.equal(s.metadata?.labels?.["endpointslice.kubernetes.io/managed-by"], MANAGED_BY);
  assert.equal(s.metadata?.labels?.["app"], "web");
  assert.equal(s.metadata?.ownerReferences?.[0]?.uid, "u");
  assert.equal(
    s.metadata?.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    opts.triggerTime,
  );
});

test("planSlices changes nothing when the slices already match", () => {
  const plan = planSlices(service, [group([ep(1), ep(2)])], [slice("web-a", [ep(1), ep(2)])], opts);
  assert.deepEqual(plan, { create: [], update: [], delete: [] });
});

test("planSlices updates the one slice whose endpoint changed and fills free space first", () => {
  const plan = planSlices(
    service,
    [group([ep(1, false), ep(2), ep(5)])],
    [slice("web-a", [ep(1), ep(2)]), slice("web-b", [ep(3), ep(4)])],
    opts,
  );
  assert.equal(plan.create.length, 0);
  assert.deepEqual(
    plan.delete.map((s) => s.metadata?.name),
    ["web-b"],
  );
  assert.equal(plan.update.length, 1);
  assert.deepEqual(
    plan.update[0]!.endpoints.map((e) => [e.addresses[0], e.conditions?.ready]),
    [
      ["127.244.0.1", false],
      ["127.244.0.2", true],
      ["127.244.0.5", true],
    ],
  );
});

test("planSlices keeps one empty placeholder when there are no endpoints", () => {
  const none = planSlices(service, [], [], opts);
  assert.equal(none.create.length, 1);
  assert.deepEqual(none.create[0]!.endpoints, []);
  const shrink = planSlices(service, [], [slice("web-a", [ep(1)]), slice("web-b", [ep(2)])], opts);
  assert.deepEqual(
    shrink.update.map((s) => [s.metadata?.name, s.endpoints.length]),
    [["web-a", 0]],
  );
  assert.deepEqual(
    shrink.delete.map((s) => s.metadata?.name),
    ["web-b"],
  );
});

test("planSlices deletes slices whose ports no longer exist", () => {
  const other = [{ name: "http", port: 9090, protocol: "TCP" }];
  const plan = planSlices(service, [group([ep(1)])], [slice("web-old", [ep(1)], other)], opts);
  assert.deepEqual(
    plan.delete.map((s) => s.metadata?.name),
    ["web-old"],
  );
  assert.equal(plan.create.length, 1);
});

test("planSlices drops the trigger-time annotation from a changed slice when there is no new trigger", () => {
  const old = slice("web-a", [ep(1), ep(2)]);
  old.metadata = {
    ...old.metadata,
    annotations: { "endpoints.kubernetes.io/last-change-trigger-time": "2025-01-01T00:00:00Z" },
  };
  const noTrigger = { ...opts, triggerTime: undefined };
  const plan = planSlices(service, [group([ep(1)])], [old], noTrigger);
  assert.equal(plan.update.length, 1);
  assert.deepEqual(plan.update[0]?.metadata?.annotations, {});
  const created = planSlices(service, [group([ep(1)])], [], noTrigger).create[0];
  assert.equal(created?.metadata?.annotations, undefined);
});
