import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject, OwnerReference } from "../../api/types.ts";
import { type GcAction, type OwnerState, planDependent, planOwner } from "./_plan.ts";

const ref = (uid: string, block = false): OwnerReference => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  name: `owner-${uid}`,
  uid,
  ...(block ? { blockOwnerDeletion: true } : {}),
});

function obj(
  uid: string,
  o: { owners?: OwnerReference[]; finalizers?: string[]; deleting?: boolean } = {},
): KubeObject {
  return {
    metadata: {
      name: uid,
      uid,
      ...(o.owners ? { ownerReferences: o.owners } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
  };
}

test("planDependent deletes only when no owner is left alive", () => {
  const two = obj("d", { owners: [ref("a"), ref("b")] });
  const cases: Array<[string, KubeObject, OwnerState[], boolean, GcAction]> = [
    ["all owners alive", two, ["solid", "solid"], false, { type: "none" }],
    [
      "one dangling owner of two",
      two,
      ["solid", "dangling"],
      false,
      { type: "setOwnerReferences", ownerReferences: [ref("a")] },
    ],
    [
      "one waiting owner of two",
      two,
      ["waiting", "solid"],
      false,
      { type: "setOwnerReferences", ownerReferences: [ref("b")] },
    ],
    [
      "every owner gone",
      two,
      ["dangling", "dangling"],
      false,
      { type: "delete", policy: "Background" },
    ],
    [
      "waiting owner, leaf dependent",
      two,
      ["waiting", "dangling"],
      false,
      { type: "delete", policy: "Background" },
    ],
    [
      "waiting owner, dependent with dependents",
      two,
      ["waiting", "dangling"],
      true,
      { type: "delete", policy: "Foreground" },
    ],
    [
      "already being deleted",
      obj("d", { owners: [ref("a")], deleting: true }),
      ["dangling"],
      false,
      { type: "none" },
    ],
    ["no owners", obj("d"), [], false, { type: "none" }],
  ];
  for (const [name, o, states, hasDeps, want] of cases)
    assert.deepEqual(planDependent(o, states, hasDeps), want, name);
});

test("planOwner orphans, waits for blocking dependents, then drops the finalizer", () => {
  const orphaning = obj("o", { finalizers: ["orphan"], deleting: true });
  const foreground = obj("o", { finalizers: ["foregroundDeletion"], deleting: true });
  const cases: Array<[string, KubeObject, KubeObject[], GcAction | undefined]> = [
    ["not being deleted", obj("o", { finalizers: ["orphan"] }), [], undefined],
    ["no GC finalizer", obj("o", { deleting: true, finalizers: ["x"] }), [], undefined],
    [
      "orphan with dependents",
      orphaning,
      [obj("d", { owners: [ref("o")] })],
      { type: "orphanDependents" },
    ],
    [
      "orphan, dependents released",
      orphaning,
      [],
      { type: "removeFinalizer", finalizer: "orphan" },
    ],
    [
      "foreground, blocking dependent",
      foreground,
      [obj("d", { owners: [ref("o", true)] })],
      { type: "none" },
    ],
    [
      "foreground, only non-blocking dependents",
      foreground,
      [obj("d", { owners: [ref("o")] })],
      { type: "removeFinalizer", finalizer: "foregroundDeletion" },
    ],
    [
      "foreground, blocking dependent of another owner",
      foreground,
      [obj("d", { owners: [ref("x", true)] })],
      { type: "removeFinalizer", finalizer: "foregroundDeletion" },
    ],
  ];
  for (const [name, o, deps, want] of cases) assert.deepEqual(planOwner(o, deps), want, name);
});
