/**
 * The volume controller's reconciles, over plain-function dependencies:
 * - `reconcileClaim` (key `namespace/name`): give a class-less claim the default class,
 *   provision a PV for a claim of our provisioner, and bind both;
 * - `reconcileVolume` (key: PV name): keep a PV's phase, and reclaim it once its claim is gone
 *   (verified by uid with a live lookup by the wiring).
 *
 * @module
 */
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
} from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import { splitKey } from "../../api/types.ts";
import {
  claimBinding,
  claimClass,
  claimStatus,
  PROVISIONER,
  planVolume,
  provisionVolume,
  volumeName,
} from "./_plan.ts";

export interface VolumeDeps {
  getClaim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  getVolume(name: string): PersistentVolume | undefined;
  getClass(name: string): StorageClass | undefined;
  defaultClass(): string | undefined;
  /** Whether the claim the PV points to still exists with that uid. */
  claimExists(pv: PersistentVolume): Promise<boolean>;
  /** Where a PV's directory lives; undefined when no data directory is configured. */
  volumePath(pvName: string): string | undefined;
  makeDir(path: string): Promise<void>;
  removeDir(path: string): Promise<void>;
  /** Creates the PV, or returns the existing one of that name. */
  createVolume(pv: PersistentVolume): Promise<PersistentVolume>;
  setVolumePhase(pv: PersistentVolume, phase: string): Promise<void>;
  deleteVolume(pv: PersistentVolume): Promise<void>;
  setClaimClass(pvc: PersistentVolumeClaim, className: string): Promise<void>;
  patchClaim(pvc: PersistentVolumeClaim, patch: object): Promise<void>;
  setClaimStatus(pvc: PersistentVolumeClaim, status: PersistentVolumeClaimStatus): Promise<void>;
  event(
    pvc: PersistentVolumeClaim,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void;
}

export async function reconcileClaim(key: string, deps: VolumeDeps): Promise<void> {
  const { namespace, name } = splitKey(key);
  const pvc = deps.getClaim(namespace, name);
  if (!pvc || pvc.metadata?.deletionTimestamp) return;
  const defaultClass = deps.defaultClass();
  const unbound = !pvc.spec?.volumeName;
  if (unbound && pvc.spec?.storageClassName === undefined && defaultClass) {
    // kube's retroactive default class; an API server that refuses the change keeps the claim
    // class-less, and it is provisioned with the default class all the same.
    await deps.setClaimClass(pvc, defaultClass);
  }
  const className = claimClass(pvc, defaultClass ?? "");
  const sc = className ? deps.getClass(className) : undefined;
  let pv = deps.getVolume(volumeName(pvc));
  if (!pv) {
    if (!unbound || !sc || sc.provisioner !== PROVISIONER) return;
    const path = deps.volumePath(volumeName(pvc));
    if (!path) {
      deps.event(
        pvc,
        "Warning",
        "ProvisioningFailed",
        "no data directory is configured for volumes",
      );
      return;
    }
    await deps.makeDir(path);
    pv = await deps.createVolume(provisionVolume(pvc, sc, { path }));
    deps.event(
      pvc,
      "Normal",
      "ProvisioningSucceeded",
      `Successfully provisioned volume ${pv.metadata?.name ?? ""}`,
    );
  }
  if (pv.spec?.claimRef?.uid !== pvc.metadata?.uid) return;
  if (pv.status?.phase !== "Bound") await deps.setVolumePhase(pv, "Bound");
  const binding = claimBinding(
    pvc,
    pv,
    pv.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"] ?? PROVISIONER,
  );
  if (binding) await deps.patchClaim(pvc, binding);
  const status = claimStatus(pvc, pv);
  if (status) await deps.setClaimStatus(pvc, status);
}

export async function reconcileVolume(name: string, deps: VolumeDeps): Promise<void> {
  const pv = deps.getVolume(name);
  if (!pv) return;
  const action = planVolume(pv, pv.spec?.claimRef ? await deps.claimExists(pv) : false);
  if (action.type === "phase") await deps.setVolumePhase(pv, action.phase);
  if (action.type === "delete") {
    const path = deps.volumePath(name);
    if (path) await deps.removeDir(path);
    await deps.deleteVolume(pv);
  }
}
