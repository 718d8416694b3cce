/**
 * Storage kinds: core/v1 persistentvolumeclaims and persistentvolumes, storage.k8s.io/v1
 * storageclasses. Defaults (phase Pending, volumeMode Filesystem, reclaim policies, binding
 * mode), the validation users hit (access modes, requested storage, immutable claim spec,
 * immutable class parameters) and the `kubectl get pvc|pv|sc` columns.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isQualifiedName } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, at, child, isObj, type Obj, semanticEqual, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain, nameIsPathSegment } from "./meta.ts";
import { volumeSourceCount } from "./pod_defaults.ts";
import type { KindStrategy } from "./types.ts";

const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const SHORT_MODES: [string, string][] = [
  ["ReadWriteOnce", "RWO"],
  ["ReadOnlyMany", "ROX"],
  ["ReadWriteMany", "RWX"],
  ["ReadWriteOncePod", "RWOP"],
];

export function accessModesString(modes: unknown): string {
  const set = new Set(arr(modes).map(str));
  return SHORT_MODES.filter(([m]) => set.has(m))
    .map(([, s]) => s)
    .join(",");
}

/** SetDefaults_PersistentVolumeClaim (also applied to StatefulSet volumeClaimTemplates). */
export function defaultPVC(pvc: Obj): void {
  setDefault(child(pvc, "spec"), "volumeMode", "Filesystem");
  setDefault(child(pvc, "status"), "phase", "Pending");
}

function validateAccessModes(modes: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = arr(modes).map(str);
  if (list.length === 0) errs.push(fieldRequired(path, "at least 1 access mode is required"));
  for (const m of list)
    if (!ACCESS_MODES.includes(m)) errs.push(fieldNotSupported(path, m, ACCESS_MODES));
  if (list.includes("ReadWriteOncePod") && list.length > 1) {
    errs.push(fieldForbidden(path, "may not use ReadWriteOncePod with other access modes"));
  }
  return errs;
}

const VOLUME_MODES = ["Block", "Filesystem"];

/** ValidatePersistentVolumeClaimSpec; `path` is the spec's path. */
export function validatePVCSpec(spec: unknown, path: string): FieldError[] {
  const s: Obj = isObj(spec) ? spec : {};
  const errs = validateAccessModes(s.accessModes, `${path}.accessModes`);
  const storage = at(s, "resources", "requests", "storage");
  if (storage === undefined || storage === null || storage === "") {
    errs.push(fieldRequired(`${path}.resources[storage]`));
  } else if (!(parseFloat(String(storage)) > 0)) {
    errs.push(
      fieldInvalid(`${path}.resources[storage]`, String(storage), "must be greater than zero"),
    );
  }
  const mode = str(s.volumeMode);
  if (mode !== "" && !VOLUME_MODES.includes(mode))
    errs.push(fieldNotSupported(`${path}.volumeMode`, mode, VOLUME_MODES));
  return errs;
}

function validatePVCUpdate(pvc: KubeObject, old: KubeObject): FieldError[] {
  // Only requests may change (and a volumeName set once by the binder).
  const spec = structuredClone(isObj(pvc.spec) ? pvc.spec : {}) as Obj;
  const oldSpec = isObj(old.spec) ? old.spec : {};
  const oldStorage = at(oldSpec, "resources", "requests");
  if (at(old, "status", "phase") === "Bound" && isObj(spec.resources))
    spec.resources.requests = structuredClone(oldStorage);
  if (str(oldSpec.volumeName) === "") spec.volumeName = oldSpec.volumeName;
  if (!semanticEqual(spec, oldSpec)) {
    return [
      fieldForbidden(
        "spec",
        "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
      ),
    ];
  }
  return [];
}

function claimClass(pvc: KubeObject): string {
  const beta = pvc.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"];
  if (beta !== undefined) return beta;
  return str(at(pvc, "spec", "storageClassName"));
}

export const persistentVolumeClaimStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  resource: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  shortNames: ["pvc"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    defaultPVC(obj as Obj);
  },
  prepareForCreate(obj) {
    // kube clears user-set status on create; the phase default comes back with it.
    obj.status = { phase: "Pending" };
  },
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsPathSegment,
    spec: (obj) => validatePVCSpec(obj.spec, "spec"),
    update: validatePVCUpdate,
  }),
  columns: [
    NAME,
    column(
      "Status",
      "string",
      "status represents the current information/status of a persistent volume claim. Read-only. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#persistentvolumeclaims",
    ),
    column(
      "Volume",
      "string",
      "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    column(
      "Capacity",
      "string",
      "capacity represents the actual resources of the underlying volume.",
    ),
    column(
      "Access Modes",
      "string",
      "accessModes contains the desired access modes the volume should have. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
    ),
    column("StorageClass", "string", "StorageClass of the pvc"),
    column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    AGE,
    column(
      "VolumeMode",
      "string",
      "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
      1,
    ),
  ],
  row(pvc, now) {
    let phase = str(at(pvc, "status", "phase"));
    if (pvc.metadata.deletionTimestamp) phase = "Terminating";
    const volumeName = str(at(pvc, "spec", "volumeName"));
    let capacity = "";
    let modes = "";
    if (volumeName !== "") {
      modes = accessModesString(at(pvc, "status", "accessModes"));
      capacity = String(at(pvc, "status", "capacity", "storage") ?? "");
    }
    return [
      pvc.metadata.name ?? "",
      phase,
      volumeName,
      capacity,
      modes,
      claimClass(pvc),
      str(at(pvc, "spec", "volumeAttributesClassName")) || "<unset>",
      sinceTimestamp(pvc.metadata.creationTimestamp, now),
      str(at(pvc, "spec", "volumeMode")) || "<unset>",
    ];
  },
};

const RECLAIM = ["Delete", "Recycle", "Retain"];

function validatePV(pv: KubeObject): FieldError[] {
  const spec: Obj = isObj(pv.spec) ? pv.spec : {};
  const errs = validateAccessModes(spec.accessModes, "spec.accessModes");
  if (!isObj(spec.capacity) || Object.keys(spec.capacity).length === 0)
    errs.push(fieldRequired("spec.capacity"));
  else if (at(spec, "capacity", "storage") === undefined)
    errs.push(fieldRequired("spec.capacity[storage]"));
  const policy = str(spec.persistentVolumeReclaimPolicy);
  if (policy !== "" && !RECLAIM.includes(policy))
    errs.push(fieldNotSupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM));
  const sources = volumeSourceCount(spec) + (isObj(spec.local) ? 1 : 0);
  if (sources === 0) errs.push(fieldRequired("spec", "must specify a volume type"));
  else if (sources > 1)
    errs.push(fieldForbidden("spec", "may not specify more than 1 volume type"));
  const mode = str(spec.volumeMode);
  if (mode !== "" && !VOLUME_MODES.includes(mode))
    errs.push(fieldNotSupported("spec.volumeMode", mode, VOLUME_MODES));
  return errs;
}

export const persistentVolumeStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "PersistentVolume",
  resource: "persistentvolumes",
  singular: "persistentvolume",
  shortNames: ["pv"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    const spec = child(obj as Obj, "spec");
    setDefault(child(obj as Obj, "status"), "phase", "Pending");
    setDefault(spec, "persistentVolumeReclaimPolicy", "Retain");
    setDefault(spec, "volumeMode", "Filesystem");
    if (isObj(spec.hostPath) && spec.hostPath.type === undefined) spec.hostPath.type = "";
  },
  prepareForCreate(obj) {
    obj.status = { phase: "Pending" };
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsPathSegment,
    spec: validatePV,
    update: (pv, old) =>
      str(at(old, "spec", "volumeMode")) !== str(at(pv, "spec", "volumeMode"))
        ? [fieldInvalid("spec.volumeMode", str(at(pv, "spec", "volumeMode")), "field is immutable")]
        : [],
  }),
  columns: [
    NAME,
    column(
      "Capacity",
      "string",
      "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
    ),
    column(
      "Access Modes",
      "string",
      "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
    ),
    column(
      "Reclaim Policy",
      "string",
      "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
    ),
    column(
      "Status",
      "string",
      "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
    ),
    column(
      "Claim",
      "string",
      "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
    ),
    column("StorageClass", "string", "StorageClass of the pv"),
    column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    column(
      "Reason",
      "string",
      "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
    ),
    AGE,
    column(
      "VolumeMode",
      "string",
      "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
      1,
    ),
  ],
  row(pv, now) {
    const spec: Obj = isObj(pv.spec) ? pv.spec : {};
    const claim = isObj(spec.claimRef)
      ? `${str(spec.claimRef.namespace)}/${str(spec.claimRef.name)}`
      : "";
    let phase = str(at(pv, "status", "phase"));
    if (pv.metadata.deletionTimestamp) phase = "Terminating";
    const cls =
      pv.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ??
      str(spec.storageClassName);
    return [
      pv.metadata.name ?? "",
      String(at(spec, "capacity", "storage") ?? "0"),
      accessModesString(spec.accessModes),
      str(spec.persistentVolumeReclaimPolicy),
      phase,
      claim,
      cls,
      str(spec.volumeAttributesClassName) || "<unset>",
      str(at(pv, "status", "reason")),
      sinceTimestamp(pv.metadata.creationTimestamp, now),
      str(spec.volumeMode) || "<unset>",
    ];
  },
};

function validateStorageClass(sc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const provisioner = str(sc.provisioner);
  if (provisioner === "") errs.push(fieldRequired("provisioner"));
  else
    for (const m of isQualifiedName(provisioner.toLowerCase()))
      errs.push(fieldInvalid("provisioner", provisioner, m));
  const policy = str(sc.reclaimPolicy);
  if (policy !== "" && policy !== "Delete" && policy !== "Retain") {
    errs.push(fieldNotSupported("reclaimPolicy", policy, ["Delete", "Retain"]));
  }
  const mode = str(sc.volumeBindingMode);
  if (mode !== "" && mode !== "Immediate" && mode !== "WaitForFirstConsumer") {
    errs.push(fieldNotSupported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"]));
  }
  return errs;
}

function validateStorageClassUpdate(sc: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!semanticEqual(sc.parameters, old.parameters))
    errs.push(fieldForbidden("parameters", "updates to parameters are forbidden."));
  if (sc.provisioner !== old.provisioner)
    errs.push(fieldForbidden("provisioner", "updates to provisioner are forbidden."));
  if (sc.reclaimPolicy !== old.reclaimPolicy)
    errs.push(fieldForbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
  if (sc.volumeBindingMode !== old.volumeBindingMode) {
    errs.push(
      fieldInvalid("volumeBindingMode", sc.volumeBindingMode ?? null, "field is immutable"),
    );
  }
  return errs;
}

function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return (
    a["storageclass.kubernetes.io/is-default-class"] === "true" ||
    a["storageclass.beta.kubernetes.io/is-default-class"] === "true"
  );
}

export const storageClassStrategy: KindStrategy = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "StorageClass",
  resource: "storageclasses",
  singular: "storageclass",
  shortNames: ["sc"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults(obj) {
    setDefault(obj as Obj, "reclaimPolicy", "Delete");
    setDefault(obj as Obj, "volumeBindingMode", "Immediate");
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsDNSSubdomain,
    spec: validateStorageClass,
    update: validateStorageClassUpdate,
  }),
  columns: [
    NAME,
    column("Provisioner", "string", "provisioner indicates the type of the provisioner."),
    column(
      "ReclaimPolicy",
      "string",
      "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
    ),
    column(
      "VolumeBindingMode",
      "string",
      "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
    ),
    column(
      "AllowVolumeExpansion",
      "string",
      "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    AGE,
  ],
  row(sc, now) {
    const name = (sc.metadata.name ?? "") + (isDefaultClass(sc) ? " (default)" : "");
    return [
      name,
      str(sc.provisioner),
      str(sc.reclaimPolicy) || "Delete",
      str(sc.volumeBindingMode) || "Immediate",
      sc.allowVolumeExpansion === true,
      sinceTimestamp(sc.metadata.creationTimestamp, now),
    ];
  },
};
