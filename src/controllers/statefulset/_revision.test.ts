import assert from "node:assert/strict";
import { test } from "node:test";
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import {
  applyRevision,
  equalRevisions,
  fnv32,
  HASH_LABEL,
  newRevision,
  revisionHash,
  revisionsToTruncate,
  safeEncode,
  sortedJson,
  sortRevisions,
} from "./_revision.ts";

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

test("sortedJson sorts keys at every level, as Go marshals a map", () => {
  assert.equal(
    sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
  );
});

test("safeEncode maps decimal digits into kube's vowel-free alphabet", () => {
  assert.equal(safeEncode("0123456789"), "456789bcdf");
});

test("newRevision holds the template as a replace patch, named and labelled by its hash", () => {
  const r = newRevision(set("nginx:1"), 1, 0);
  assert.deepEqual(r.data, {
    spec: {
      template: {
        $patch: "replace",
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ image: "nginx:1", name: "c" }] },
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

test("equalRevisions compares data only", () => {
  assert.ok(equalRevisions(newRevision(set("x"), 1, 0), newRevision(set("x"), 2, 5)));
  assert.ok(!equalRevisions(newRevision(set("x"), 1, 0), newRevision(set("y"), 1, 0)));
});

test("applyRevision restores the recorded template", () => {
  const restored = applyRevision(set("nginx:2"), newRevision(set("nginx:1"), 1, 0));
  assert.deepEqual(restored.spec?.template, {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ image: "nginx:1", name: "c" }] },
  });
  assert.equal(restored.spec?.serviceName, "nginx");
});

const rev = (name: string, revision: number): ControllerRevision => ({
  metadata: { name },
  revision,
});

test("sortRevisions orders by revision number", () => {
  assert.deepEqual(
    sortRevisions([rev("c", 3), rev("a", 1), rev("b", 2)]).map((r) => r.metadata?.name),
    ["a", "b", "c"],
  );
});

test("revisionsToTruncate drops the oldest non-live revisions beyond the limit", () => {
  const all = [rev("r1", 1), rev("r2", 2), rev("r3", 3), rev("r4", 4), rev("r5", 5)];
  const cases: Array<[string[], number, string[]]> = [
    [["r5"], 2, ["r1", "r2"]],
    [["r5", "r1"], 2, ["r2"]],
    [["r5"], 10, []],
    [["r4", "r5"], 0, ["r1", "r2", "r3"]],
  ];
  for (const [live, limit, want] of cases) {
    assert.deepEqual(
      revisionsToTruncate(all, new Set(live), limit).map((r) => r.metadata?.name),
      want,
      `live ${live} limit ${limit}`,
    );
  }
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
  const want = safeEncode(String(fnv32(enc.encode('{"a":1,"b":2}7'))));
  assert.equal(revisionHash({ b: 2, a: 1 }, 7), want);
});
