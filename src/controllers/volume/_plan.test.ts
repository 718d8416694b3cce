import assert from "node:assert/strict";
import { test } from "node:test";
import type { PersistentVolume, PersistentVolumeClaim } from "kubernetes-types/core/v1.js";
import {
  claimBinding,
  claimClass,
  claimStatus,
  defaultStorageClass,
  planVolume,
  provisionVolume,
  type VolumeAction,
} from "./_plan.ts";

const pvc = (
  spec: Partial<NonNullable<PersistentVolumeClaim["spec"]>> = {},
): PersistentVolumeClaim => ({
  metadata: { name: "data", namespace: "default", uid: "u1", resourceVersion: "7" },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } }, ...spec },
});

test("claimClass takes the default class only when none is set", () => {
  assert.equal(claimClass(pvc()), "standard");
  assert.equal(claimClass(pvc({ storageClassName: "" })), "");
  assert.equal(claimClass(pvc({ storageClassName: "fast" })), "fast");
});

test("provisionVolume sizes, names and points the PV at the claim", () => {
  const pv = provisionVolume(pvc(), defaultStorageClass(), { path: "/data/volumes/pvc-u1" });
  assert.equal(pv.metadata?.name, "pvc-u1");
  assert.equal(
    pv.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"],
    "loopkube.dev/local-path",
  );
  assert.deepEqual(pv.spec?.capacity, { storage: "2Gi" });
  assert.deepEqual(pv.spec?.accessModes, ["ReadWriteOnce"]);
  assert.equal(pv.spec?.persistentVolumeReclaimPolicy, "Delete");
  assert.equal(pv.spec?.storageClassName, "standard");
  assert.deepEqual(pv.spec?.claimRef, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: "default",
    name: "data",
    uid: "u1",
    resourceVersion: "7",
  });
  assert.deepEqual(pv.spec?.hostPath, { path: "/data/volumes/pvc-u1", type: "DirectoryOrCreate" });
});

test("claimBinding and claimStatus are done once the claim says Bound", () => {
  const pv = provisionVolume(pvc(), defaultStorageClass(), { path: "/x" });
  const b = claimBinding(pvc(), pv, "loopkube.dev/local-path");
  assert.equal(b?.spec?.volumeName, "pvc-u1");
  assert.equal(b?.metadata.annotations["pv.kubernetes.io/bind-completed"], "yes");
  const bound: PersistentVolumeClaim = {
    ...pvc({ volumeName: "pvc-u1" }),
    metadata: { ...pvc().metadata, annotations: b?.metadata.annotations ?? {} },
    status: { phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "2Gi" } },
  };
  assert.equal(claimBinding(bound, pv, "loopkube.dev/local-path"), undefined);
  assert.equal(claimStatus(bound, pv), undefined);
  assert.deepEqual(claimStatus(pvc(), pv), {
    phase: "Bound",
    accessModes: ["ReadWriteOnce"],
    capacity: { storage: "2Gi" },
  });
});

test("planVolume keeps the phase and reclaims by policy once the claim is gone", () => {
  const ours = (policy: string, phase?: string): PersistentVolume => {
    const pv = provisionVolume(
      pvc(),
      { ...defaultStorageClass(), reclaimPolicy: policy },
      { path: "/x" },
    );
    return phase ? { ...pv, status: { phase } } : pv;
  };
  const cases: Array<[string, PersistentVolume, boolean, VolumeAction]> = [
    ["new PV with its claim", ours("Delete"), true, { type: "phase", phase: "Bound" }],
    ["bound PV with its claim", ours("Delete", "Bound"), true, { type: "none" }],
    ["claim gone, Delete", ours("Delete", "Bound"), false, { type: "delete" }],
    ["claim gone, Retain", ours("Retain", "Bound"), false, { type: "phase", phase: "Released" }],
    ["released stays released", ours("Retain", "Released"), false, { type: "none" }],
    [
      "PV without claim",
      { metadata: { name: "static" }, spec: {} },
      false,
      { type: "phase", phase: "Available" },
    ],
  ];
  for (const [name, pv, exists, want] of cases)
    assert.deepEqual(planVolume(pv, exists), want, name);
});
