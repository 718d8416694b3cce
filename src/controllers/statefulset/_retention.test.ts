import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim } from "kubernetes-types/core/v1.js";
import { claimIsStale, claimOwnersUpdate } from "./_retention.ts";

function set(whenDeleted: string, whenScaled: string): StatefulSet {
  return {
    metadata: { name: "web", uid: "set" },
    spec: {
      replicas: 1,
      selector: {},
      template: {},
      serviceName: "",
      persistentVolumeClaimRetentionPolicy: { whenDeleted, whenScaled },
    },
  };
}
const inRange = { metadata: { name: "web-0", uid: "p0" } };
const scaledDown = { metadata: { name: "web-1", uid: "p1" } };
function ref(uid: string, controller = true) {
  const [kind, name] =
    uid === "set"
      ? ["StatefulSet", "web"]
      : uid.startsWith("p")
        ? ["Pod", `web-${uid.slice(1)}`]
        : ["X", uid];
  return { apiVersion: "v1", kind, name, uid, ...(controller ? { controller: true } : {}) };
}
const claim = (...uids: string[]): PersistentVolumeClaim => ({
  metadata: { name: "c", ownerReferences: uids.map((u) => ref(u, u !== "other")) },
});

test("claimOwnersUpdate gives each policy its owners", () => {
  const cases: Array<[string, string, "in" | "down", string[], string[] | undefined]> = [
    ["Retain", "Retain", "in", [], undefined],
    ["Retain", "Retain", "in", ["set"], []],
    ["Delete", "Retain", "in", [], ["set"]],
    ["Delete", "Retain", "down", ["set"], undefined],
    ["Retain", "Delete", "in", [], undefined],
    ["Retain", "Delete", "down", [], ["p1"]],
    ["Delete", "Delete", "in", [], ["set"]],
    ["Delete", "Delete", "down", ["set"], ["p1"]],
    ["Delete", "Delete", "down", ["other", "set"], ["other", "p1"]],
  ];
  for (const [deleted, scaled, where, have, want] of cases) {
    const pod = where === "in" ? inRange : scaledDown;
    const got = claimOwnersUpdate(set(deleted, scaled), pod, claim(...have));
    assert.deepEqual(
      got?.map((r) => r.uid),
      want,
      `${deleted}/${scaled} ${where} [${have}]`,
    );
  }
});

test("claimIsStale spots a claim owned by an earlier pod of the same name", () => {
  const owned = (uid: string): PersistentVolumeClaim => ({
    metadata: { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "web-1", uid }] },
  });
  assert.ok(claimIsStale(owned("old"), { metadata: { name: "web-1" } }));
  assert.ok(!claimIsStale(owned("p1"), scaledDown));
  assert.ok(!claimIsStale({ metadata: {} }, scaledDown));
});

test("claimOwnersUpdate makes a plain reference to the set a controller reference", () => {
  const plain: PersistentVolumeClaim = { metadata: { ownerReferences: [ref("set", false)] } };
  const got = claimOwnersUpdate(set("Delete", "Retain"), inRange, plain);
  assert.deepEqual(
    got?.map((r) => [r.uid, r.controller]),
    [["set", true]],
  );
});

test("claimOwnersUpdate leaves a claim controlled by someone else, dropping only our references", () => {
  const foreign: PersistentVolumeClaim = {
    metadata: { ownerReferences: [{ ...ref("other"), controller: true }] },
  };
  assert.equal(claimOwnersUpdate(set("Delete", "Delete"), inRange, foreign), undefined);
  const both: PersistentVolumeClaim = {
    metadata: { ownerReferences: [{ ...ref("other"), controller: true }, ref("set", false)] },
  };
  assert.deepEqual(
    claimOwnersUpdate(set("Delete", "Delete"), inRange, both)?.map((r) => r.uid),
    ["other"],
  );
});

test("claimOwnersUpdate does not touch a claim of an earlier set of the same name", () => {
  const stale: PersistentVolumeClaim = {
    metadata: { ownerReferences: [{ ...ref("set"), uid: "earlier" }] },
  };
  assert.equal(claimOwnersUpdate(set("Retain", "Retain"), inRange, stale), undefined);
});
