/**
 * `metadata.managedFields` bookkeeping shared by server-side apply and ordinary writes.
 *
 * An entry is identified as kube identifies it: manager name, operation, subresource, and for
 * `Update` entries the apiVersion (an applier keeps one entry whatever version it applies
 * with). Entries are written sorted as kube sorts them (operation, then time, manager,
 * apiVersion, subresource), with `fieldsType: "FieldsV1"` and an RFC 3339 `time`. Entries
 * whose set became empty are dropped.
 *
 * {@link recordUpdate} is the field manager's `Update` for create/update/patch requests: the
 * writer takes ownership of every field it added or changed, those fields leave every other
 * entry, and removed fields leave every entry.
 *
 * @module
 */
import type { ManagedFieldsEntry } from "kubernetes-types/meta/v1.js";
import type { KubeObject } from "../types.ts";
import { fromFieldsV1, toFieldsV1 } from "./_fieldpath.ts";
import { compare, leavesOf } from "./_fieldset.ts";
import { type GroupKind, type SchemaNode, schemaFor } from "./_schema.ts";

export type { ManagedFieldsEntry };

export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string;
  time?: string;
  /** Encoded paths (see `_fieldpath.ts`). */
  set: Set<string>;
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function sameManager(a: ManagerEntry, b: Omit<ManagerEntry, "set" | "time">): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? "") === (b.subresource ?? "") &&
    (a.operation === "Apply" || a.apiVersion === b.apiVersion)
  );
}

/** `"kubectl"`, `"kubectl" with subresource "status"`, `"kube-controller-manager" using apps/v1`. */
export function describeManager(m: ManagerEntry): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === "Update") s += ` using ${m.apiVersion}`;
  return s;
}

export function decodeManagedFields(entries: ManagedFieldsEntry[] | undefined): ManagerEntry[] {
  const out: ManagerEntry[] = [];
  for (const e of entries ?? []) {
    if (e.fieldsType !== undefined && e.fieldsType !== "FieldsV1") continue;
    const m: ManagerEntry = {
      manager: e.manager ?? "",
      operation: e.operation === "Apply" ? "Apply" : "Update",
      apiVersion: e.apiVersion ?? "",
      set: fromFieldsV1(e.fieldsV1),
    };
    if (e.subresource) m.subresource = e.subresource;
    if (e.time) m.time = e.time;
    out.push(m);
  }
  return out;
}

function compareEntries(p: ManagerEntry, q: ManagerEntry): number {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  return (
    cmp(p.operation, q.operation) ||
    seconds(p.time) - seconds(q.time) ||
    cmp(p.manager, q.manager) ||
    cmp(p.apiVersion, q.apiVersion) ||
    cmp(p.subresource ?? "", q.subresource ?? "")
  );
}

export function encodeManagedFields(managers: ManagerEntry[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => m.set.size > 0)
    .sort(compareEntries)
    .map((m) => {
      const e: ManagedFieldsEntry = {
        manager: m.manager,
        operation: m.operation,
        apiVersion: m.apiVersion,
      };
      if (m.time) e.time = m.time;
      e.fieldsType = "FieldsV1";
      e.fieldsV1 = toFieldsV1(m.set);
      if (m.subresource) e.subresource = m.subresource;
      return e;
    });
}

export interface RecordUpdateOptions {
  /** The request's fieldManager (kube defaults it from the user agent, e.g. `kubectl-edit`). */
  manager: string;
  kind: GroupKind;
  /** Defaults to `updated.apiVersion`. */
  apiVersion?: string;
  /** How lists and maps are tracked; defaults to the built-in table of `kind`. */
  schema?: SchemaNode;
  /** `status` or `scale` for subresource writes. */
  subresource?: string;
  /** Top-level fields not tracked: defaults to `status`, or `spec` for the status subresource. */
  resetFields?: readonly string[];
  now?: () => Date;
}

export function defaultResetFields(subresource: string | undefined): readonly string[] {
  return subresource === "status" ? ["spec"] : ["status"];
}

/**
 * Returns a copy of `updated` whose `metadata.managedFields` records this write; apart from
 * `metadata` the copy shares its values with `updated`. `live` is the
 * stored object (undefined on create). When `updated` carries no managedFields, the live ones
 * are the starting point; when it carries a list (even empty), that list is, as kube does.
 */
export function recordUpdate(
  live: KubeObject | undefined,
  updated: KubeObject,
  options: RecordUpdateOptions,
): KubeObject {
  const schema = options.schema ?? schemaFor(options.kind);
  const walk = { resetFields: options.resetFields ?? defaultResetFields(options.subresource) };
  // Only metadata.managedFields changes: a shallow copy keeps `updated` untouched without
  // copying its data (a deep copy of a 1 MiB ConfigMap per write was measurable).
  const out: KubeObject = { ...updated, metadata: { ...updated.metadata } };
  const managers = decodeManagedFields(
    updated.metadata.managedFields !== undefined
      ? updated.metadata.managedFields
      : live?.metadata.managedFields,
  );
  const c = compare(leavesOf(live ?? {}, schema, walk), leavesOf(updated, schema, walk));
  const changed = new Set([...c.added, ...c.modified]);
  for (const m of managers) {
    for (const p of changed) m.set.delete(p);
    for (const p of c.removed) m.set.delete(p);
  }
  if (changed.size > 0) {
    const id = {
      manager: options.manager,
      operation: "Update" as const,
      apiVersion: options.apiVersion ?? updated.apiVersion ?? "",
      ...(options.subresource ? { subresource: options.subresource } : {}),
    };
    let entry = managers.find((m) => sameManager(m, id));
    if (!entry) {
      entry = { ...id, set: new Set() };
      managers.push(entry);
    }
    for (const p of changed) entry.set.add(p);
    entry.time = rfc3339((options.now ?? (() => new Date()))());
  }
  const encoded = encodeManagedFields(managers);
  if (encoded.length > 0) out.metadata.managedFields = encoded;
  else delete out.metadata.managedFields;
  return out;
}
