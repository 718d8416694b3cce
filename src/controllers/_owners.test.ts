import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../api/errors.ts";
import { REFS } from "../api/refs.ts";
import { FakeApi } from "../client/testing.ts";
import { controllerOf, ownerRef, patchOwners } from "./_owners.ts";

const JOB = { apiVersion: "batch/v1", kind: "Job" };

test("ownerRef is a controller reference that blocks the owner's deletion", () => {
  assert.deepEqual(ownerRef({ metadata: { name: "pi", uid: "u1" } }, JOB), {
    apiVersion: "batch/v1",
    kind: "Job",
    name: "pi",
    uid: "u1",
    controller: true,
    blockOwnerDeletion: true,
  });
});

test("controllerOf finds the one reference marked controller", () => {
  const other = { apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "u0" };
  const mine = ownerRef({ metadata: { name: "pi", uid: "u1" } }, JOB);
  assert.equal(controllerOf({ metadata: { ownerReferences: [other] } }), undefined);
  assert.deepEqual(controllerOf({ metadata: { ownerReferences: [other, mine] } }), mine);
  assert.equal(controllerOf({}), undefined);
});

test("patchOwners adopts and releases, guarded by resourceVersion or uid", async () => {
  const api = new FakeApi();
  const pod = await api.create(REFS.configmaps, "a", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "a" },
  });
  const owner = ownerRef({ metadata: { name: "pi", uid: "u1" } }, JOB);
  const adopted = await patchOwners(api, REFS.configmaps, pod, [owner]);
  assert.deepEqual(adopted.metadata.ownerReferences, [owner]);
  // The first read is stale now: a resourceVersion guard refuses, a uid guard does not.
  await assert.rejects(patchOwners(api, REFS.configmaps, pod, []), (e) =>
    isStatusError(e, "Conflict"),
  );
  const released = await patchOwners(api, REFS.configmaps, pod, [], { guard: "uid" });
  assert.equal(released.metadata.ownerReferences, undefined);
});
