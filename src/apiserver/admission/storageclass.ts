/**
 * DefaultStorageClass admission, as kube-apiserver's plugin of that name: a PersistentVolumeClaim
 * created without `spec.storageClassName` gets the name of the StorageClass annotated
 * `storageclass.kubernetes.io/is-default-class: "true"` (the newest, if several are). A claim
 * that names a class, or asks for none with `""`, is left alone.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, storePrefix } from "../resources.ts";

const DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

export function defaultStorageClassName(store: Store): string | undefined {
  const classes = store.list(
    storePrefix(findResource("storage.k8s.io", "storageclasses")!, ""),
  ).items;
  const defaults = classes.filter((c) => c.metadata.annotations?.[DEFAULT_ANNOTATION] === "true");
  defaults.sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
  );
  return defaults[0]?.metadata.name;
}

export function defaultStorageClassAdmission(store: Store): Admission {
  return {
    create(info, obj: KubeObject) {
      if (info.group !== "" || info.resource !== "persistentvolumeclaims") return undefined;
      const spec = (obj.spec ?? {}) as { storageClassName?: string | null };
      if (spec.storageClassName !== undefined && spec.storageClassName !== null) return undefined;
      const name = defaultStorageClassName(store);
      if (name) obj.spec = { ...spec, storageClassName: name };
      return undefined;
    },
  };
}
