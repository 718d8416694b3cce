import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import { createInformer } from "../client/informer.ts";
import { FakeApi, settle } from "../client/testing.ts";
import { enqueueServicesOfPods, podEndpointsChanged, selectPods } from "./_servicepods.ts";

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

const svc = (ns: string, name: string, selector?: Record<string, string>) =>
  ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: ns, name },
    spec: selector ? { selector } : {},
  }) as KubeObject;
const pod = (ns: string, name: string, labels: Record<string, string>) =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: ns, name, labels },
    spec: { containers: [] },
  }) as KubeObject;

async function setup() {
  const api = new FakeApi();
  for (const s of [
    svc("a", "web", { app: "web" }),
    svc("a", "web-canary", { app: "web", track: "canary" }),
    svc("a", "db", { app: "db" }),
    svc("a", "all", {}),
    svc("a", "external"),
    svc("b", "web", { app: "web" }),
  ])
    await api.create(REFS.services, s.metadata.namespace ?? "", s);
  for (const p of [
    pod("a", "web-1", { app: "web" }),
    pod("a", "web-2", { app: "web", track: "canary" }),
    pod("a", "db-1", { app: "db" }),
    pod("b", "web-1", { app: "web" }),
  ])
    await api.create(REFS.pods, p.metadata.namespace ?? "", p);
  const services = createInformer<Service & KubeObject>(api, REFS.services);
  const pods = createInformer<Pod & KubeObject>(api, REFS.pods);
  const enqueued: string[] = [];
  const removers = enqueueServicesOfPods(services, pods, (k) => enqueued.push(k));
  services.start();
  pods.start();
  await Promise.all([services.waitForSync(), pods.waitForSync()]);
  const stop = async () => {
    for (const r of removers) r();
    await Promise.all([services.stop(), pods.stop()]);
  };
  return { api, pods, enqueued, stop };
}

test("selectPods answers the namespace's pods a selector matches, empty selector all of them", async () => {
  const { pods, stop } = await setup();
  const names = (sel: Record<string, string>, ns = "a") =>
    selectPods(pods, ns, sel)
      .map((p) => p.metadata.name)
      .sort();
  const cases: Array<[Record<string, string>, string, string[]]> = [
    [{ app: "web" }, "a", ["web-1", "web-2"]],
    [{ app: "web", track: "canary" }, "a", ["web-2"]],
    [{ track: "canary", app: "web" }, "a", ["web-2"]],
    [{ app: "db" }, "a", ["db-1"]],
    [{ app: "none" }, "a", []],
    [{}, "a", ["db-1", "web-1", "web-2"]],
    [{ app: "web" }, "b", ["web-1"]],
  ];
  for (const [sel, ns, want] of cases) assert.deepEqual(names(sel, ns), want, JSON.stringify(sel));
  await stop();
});

test("a pod change enqueues exactly the Services selecting it before or after, in its namespace", async () => {
  const { api, enqueued, stop } = await setup();
  enqueued.length = 0;
  await api.create(REFS.pods, "a", pod("a", "web-3", { app: "web", track: "canary" }));
  await settle();
  assert.deepEqual([...new Set(enqueued)].sort(), ["a/all", "a/web", "a/web-canary"]);
  enqueued.length = 0;
  const current = await api.get(REFS.pods, "a", "web-3");
  await api.update(REFS.pods, "a", {
    ...current,
    metadata: { ...current.metadata, labels: { app: "db" } },
  });
  await settle();
  assert.deepEqual(
    [...new Set(enqueued)].sort(),
    ["a/all", "a/db", "a/web", "a/web-canary"],
    "old selectors and new ones",
  );
  await stop();
});
