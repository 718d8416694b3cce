import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import {
  identityMatches,
  inOrdinalRange,
  isMemberOf,
  newPod,
  parentAndOrdinal,
  storageMatches,
  withIdentityLabels,
  withStorage,
} from "./_identity.ts";

const set: StatefulSet = {
  metadata: { name: "web", namespace: "ns", uid: "u1" },
  spec: {
    replicas: 2,
    serviceName: "nginx",
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" }, annotations: { note: "x" } },
      spec: {
        containers: [{ name: "c" }],
        volumes: [
          { name: "www", emptyDir: {} },
          { name: "cfg", configMap: { name: "cfg" } },
        ],
      },
    },
    volumeClaimTemplates: [{ metadata: { name: "www", labels: { tier: "data" } }, spec: {} }],
  },
};

test("parentAndOrdinal reads <parent>-<ordinal> names", () => {
  const cases: Array<[string, unknown]> = [
    ["web-0", { parent: "web", ordinal: 0 }],
    ["my-web-12", { parent: "my-web", ordinal: 12 }],
    ["web", undefined],
    ["web-x", undefined],
    ["-3", undefined],
  ];
  for (const [name, want] of cases)
    assert.deepEqual(parentAndOrdinal({ metadata: { name } }), want, name);
});

test("newPod gives the pod its identity, storage, revision and owner", () => {
  const p = newPod(set, 1, "web-abc");
  assert.equal(p.metadata?.name, "web-1");
  assert.equal(p.metadata?.namespace, "ns");
  assert.equal(p.metadata?.generateName, "web-");
  assert.deepEqual(p.metadata?.labels, {
    app: "web",
    "statefulset.kubernetes.io/pod-name": "web-1",
    "apps.kubernetes.io/pod-index": "1",
    "controller-revision-hash": "web-abc",
  });
  assert.deepEqual(p.metadata?.annotations, { note: "x" });
  assert.equal(p.spec?.hostname, "web-1");
  assert.equal(p.spec?.subdomain, "nginx");
  // The claim volume replaces the template's same-named volume and comes first.
  assert.deepEqual(p.spec?.volumes, [
    { name: "www", persistentVolumeClaim: { claimName: "www-web-1" } },
    { name: "cfg", configMap: { name: "cfg" } },
  ]);
  assert.ok(identityMatches(set, p));
  assert.ok(storageMatches(set, p));
  assert.ok(isMemberOf(set, p));
});

test("identityMatches and storageMatches notice a pod that lost its labels or claim", () => {
  const p = newPod(set, 0, "r");
  const bare = { ...p, metadata: { ...p.metadata, labels: { app: "web" } } };
  assert.ok(!identityMatches(set, bare));
  assert.ok(identityMatches(set, withIdentityLabels(bare)));
  const noClaim = { ...p, spec: { ...p.spec, containers: [], volumes: [] } };
  assert.ok(!storageMatches(set, noClaim));
  assert.ok(storageMatches(set, withStorage(set, noClaim)));
});

test("inOrdinalRange honours spec.ordinals.start", () => {
  const shifted: StatefulSet = {
    ...set,
    spec: { ...(set.spec ?? {}), ordinals: { start: 3 } },
  } as StatefulSet;
  const cases: Array<[string, boolean]> = [
    ["web-2", false],
    ["web-3", true],
    ["web-4", true],
    ["web-5", false],
  ];
  for (const [name, want] of cases)
    assert.equal(inOrdinalRange(shifted, { metadata: { name } }), want, name);
});
