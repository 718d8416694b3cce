/**
 * Dynamic provisioning and binding for loopkube's one storage class, as kube's PV controller and
 * an external provisioner (e.g. local-path-provisioner) do it together:
 * - the default class `standard` (`storageclass.kubernetes.io/is-default-class: "true"`,
 *   provisioner `loopkube.dev/local-path`, reclaimPolicy Delete, volumeBindingMode Immediate);
 * - a claim without a class (`spec.storageClassName` absent; `""` means "no class") takes the
 *   default class, as kube's retroactive default StorageClass assignment does;
 * - a claim of our provisioner gets a PV `pvc-<claim uid>`: capacity = the request, the claim's
 *   access modes and volume mode, the class's reclaim policy, `claimRef` to the claim, a
 *   `hostPath` directory `<dataDir>/volumes/<pv name>`, annotation `pv.kubernetes.io/provisioned-by`;
 * - then both are bound: PV `status.phase: Bound`; claim `spec.volumeName`, annotations
 *   `pv.kubernetes.io/bind-completed`, `pv.kubernetes.io/bound-by-controller`,
 *   `volume.kubernetes.io/storage-provisioner` (and the beta one), status Bound with capacity and
 *   access modes;
 * - a PV whose claim is gone is deleted with its directory (reclaim Delete) or turns Released
 *   (Retain).
 *
 * @module
 */
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
} from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";

export const PROVISIONER = "loopkube.dev/local-path";
export const DEFAULT_CLASS = "standard";
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
export const ANN = {
  provisionedBy: "pv.kubernetes.io/provisioned-by",
  bindCompleted: "pv.kubernetes.io/bind-completed",
  boundByController: "pv.kubernetes.io/bound-by-controller",
  storageProvisioner: "volume.kubernetes.io/storage-provisioner",
  betaStorageProvisioner: "volume.beta.kubernetes.io/storage-provisioner",
  betaStorageClass: "volume.beta.kubernetes.io/storage-class",
} as const;

export function defaultStorageClass(): StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: DEFAULT_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
    provisioner: PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  };
}

/** The class a claim asks for: `""` for none, the default class when unset. */
export function claimClass(pvc: PersistentVolumeClaim, defaultClass = DEFAULT_CLASS): string {
  const beta = pvc.metadata?.annotations?.[ANN.betaStorageClass];
  if (beta !== undefined) return beta;
  return pvc.spec?.storageClassName ?? defaultClass;
}

export function volumeName(pvc: PersistentVolumeClaim): string {
  return pvc.spec?.volumeName || `pvc-${pvc.metadata?.uid ?? ""}`;
}

export function provisionVolume(
  pvc: PersistentVolumeClaim,
  sc: StorageClass,
  options: { path: string },
): PersistentVolume {
  const storage = pvc.spec?.resources?.requests?.["storage"] ?? "1Gi";
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: volumeName(pvc),
      annotations: { [ANN.provisionedBy]: sc.provisioner },
    },
    spec: {
      capacity: { storage },
      accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata?.name ?? "",
      volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
      ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: pvc.metadata?.namespace ?? "",
        name: pvc.metadata?.name ?? "",
        uid: pvc.metadata?.uid ?? "",
        ...(pvc.metadata?.resourceVersion ? { resourceVersion: pvc.metadata.resourceVersion } : {}),
      },
      hostPath: { path: options.path, type: "DirectoryOrCreate" },
    },
  };
}

/** The metadata/spec changes that mark a claim bound to the PV, or undefined if done. */
export function claimBinding(
  pvc: PersistentVolumeClaim,
  pv: PersistentVolume,
  provisioner: string,
):
  | { metadata: { annotations: Record<string, string> }; spec?: { volumeName: string } }
  | undefined {
  const want: Record<string, string> = {
    [ANN.bindCompleted]: "yes",
    [ANN.boundByController]: "yes",
    [ANN.storageProvisioner]: provisioner,
    [ANN.betaStorageProvisioner]: provisioner,
  };
  const have = pvc.metadata?.annotations ?? {};
  const name = pv.metadata?.name ?? "";
  const annotationsDone = Object.entries(want).every(([k, v]) => have[k] === v);
  if (annotationsDone && pvc.spec?.volumeName === name) return undefined;
  return {
    metadata: { annotations: want },
    ...(pvc.spec?.volumeName === name ? {} : { spec: { volumeName: name } }),
  };
}

/** The claim's bound status, or undefined if it already says so. */
export function claimStatus(
  pvc: PersistentVolumeClaim,
  pv: PersistentVolume,
): PersistentVolumeClaimStatus | undefined {
  const status: PersistentVolumeClaimStatus = {
    phase: "Bound",
    accessModes: pv.spec?.accessModes ?? [],
    capacity: pv.spec?.capacity ?? {},
  };
  const s = pvc.status;
  if (
    s?.phase === "Bound" &&
    JSON.stringify(s.accessModes ?? []) === JSON.stringify(status.accessModes) &&
    JSON.stringify(s.capacity ?? {}) === JSON.stringify(status.capacity)
  )
    return undefined;
  return status;
}

export type VolumeAction =
  | { type: "none" }
  | { type: "phase"; phase: "Available" | "Bound" | "Released" }
  | { type: "delete" };

/** What to do with a PV, given whether its claim (by uid) still exists. */
export function planVolume(pv: PersistentVolume, claimExists: boolean): VolumeAction {
  if (pv.metadata?.deletionTimestamp) return { type: "none" };
  const phase = pv.status?.phase;
  const want = (p: "Available" | "Bound" | "Released"): VolumeAction =>
    phase === p ? { type: "none" } : { type: "phase", phase: p };
  if (!pv.spec?.claimRef) return want("Available");
  if (claimExists) return want("Bound");
  const ours = pv.metadata?.annotations?.[ANN.provisionedBy] === PROVISIONER;
  if (ours && (pv.spec.persistentVolumeReclaimPolicy ?? "Delete") === "Delete")
    return { type: "delete" };
  return want("Released");
}
