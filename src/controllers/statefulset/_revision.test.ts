import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import { safeEncodeString } from "../_hash.ts";
import { fnv32, HASH_LABEL, newRevision, revisionHash } from "./_revision.ts";

function set(image: string): StatefulSet {
  return {
    metadata: { name: "web", namespace: "ns", uid: "u1", annotations: { a: "1" } },
    spec: {
      serviceName: "nginx",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image }] },
      },
    },
  };
}

test("newRevision holds the template as a replace patch, named and labelled by its hash", () => {
  const r = newRevision(set("nginx:1"), 1, 0);
  assert.deepEqual(r.data, {
    spec: {
      template: {
        $patch: "replace",
        metadata: { creationTimestamp: null, labels: { app: "web" } },
        spec: { containers: [{ image: "nginx:1", name: "c", resources: {} }] },
      },
    },
  });
  const hash = r.metadata?.labels?.[HASH_LABEL] ?? "";
  assert.match(hash, /^[456789bcdf]+$/);
  assert.equal(r.metadata?.name, `web-${hash}`);
  assert.equal(r.metadata?.labels?.app, "web");
  assert.deepEqual(r.metadata?.annotations, { a: "1" });
  assert.equal(r.revision, 1);
  assert.deepEqual(
    r.metadata?.ownerReferences?.map((o) => [o.kind, o.uid, o.controller]),
    [["StatefulSet", "u1", true]],
  );
});

test("newRevision names differ with the template and with the collision count", () => {
  const a = newRevision(set("nginx:1"), 1, 0).metadata?.name;
  assert.equal(newRevision(set("nginx:1"), 7, 0).metadata?.name, a);
  assert.notEqual(newRevision(set("nginx:2"), 1, 0).metadata?.name, a);
  assert.notEqual(newRevision(set("nginx:1"), 1, 1).metadata?.name, a);
});

test("fnv32 is FNV-1 (Go's fnv.New32), as kube's history package hashes", () => {
  const enc = new TextEncoder();
  const cases: Array<[string, number]> = [
    ["", 0x811c9dc5],
    ["a", 0x050c5d7e],
    ["foobar", 0x31f0b262],
  ];
  for (const [input, want] of cases) assert.equal(fnv32(enc.encode(input)), want, input);
});

test("revisionHash hashes the sorted data then the collision count, safe-encoded", () => {
  const enc = new TextEncoder();
  const want = safeEncodeString(String(fnv32(enc.encode('{"a":1,"b":2}7'))));
  assert.equal(revisionHash({ b: 2, a: 1 }, 7), want);
});
