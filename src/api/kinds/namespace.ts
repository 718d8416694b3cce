/**
 * core/v1 namespaces (cluster-scoped): phase `Active` and the `kubernetes.io/metadata.name`
 * label by default; on create the `kubernetes` finalizer (kube adds it in PrepareForCreate, not
 * in defaulting, because the namespace controller removes it later through /finalize); updates
 * keep spec.finalizers. Names are DNS-1123 labels.
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, at, child, isObj, type Obj, setDefault, str } from "./_util.ts";
import { nameIsDNSLabel } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

export const namespaceStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Namespace",
  resource: "namespaces",
  singular: "namespace",
  shortNames: ["ns"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    setDefault(child(obj as Obj, "status"), "phase", "Active");
    const name = obj.metadata.name;
    if (name)
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  },
  prepareForCreate(obj) {
    obj.status = { phase: "Active" };
    const spec = child(obj as Obj, "spec");
    const finalizers = arr(spec.finalizers).map(str);
    if (!finalizers.includes("kubernetes")) finalizers.push("kubernetes");
    spec.finalizers = finalizers;
  },
  prepareForUpdate(obj, old) {
    const oldFinalizers = at(old, "spec", "finalizers");
    const spec = child(obj as Obj, "spec");
    if (oldFinalizers === undefined) delete spec.finalizers;
    else spec.finalizers = structuredClone(oldFinalizers);
    if (!isObj(obj.spec) || Object.keys(spec).length === 0) delete obj.spec;
  },
  ...simpleValidators({ namespaced: false, nameRule: nameIsDNSLabel }),
  columns: [NAME, column("Status", "string", "The status of the namespace"), AGE],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      str(at(obj, "status", "phase")),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
  selectableFields(obj) {
    return { "status.phase": str(at(obj, "status", "phase")) };
  },
};
