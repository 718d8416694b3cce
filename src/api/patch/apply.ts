/**
 * Server-side apply (`application/apply-patch+yaml`), following structured-merge-diff's
 * `Updater.Apply` with the per-kind table of `_schema.ts`:
 * 1. the applied configuration merges into the live object: maps merge, associative lists merge
 *    by their list-map keys (applied order first, live-only elements kept in place), set lists
 *    union, atomic values and every other list are replaced;
 * 2. the applier's set becomes exactly the applied configuration's field set;
 * 3. fields the applier owned before and no longer applies are removed from the object unless
 *    another manager owns them (or something below them); a map or list this leaves empty goes
 *    too, as Go's `omitempty` drops it in kube;
 * 4. fields this changes or adds that another manager owns are conflicts: without `force`, a
 *    409 worded as kube words it; with `force`, ownership moves to the applier;
 * 5. removed fields leave every other manager's set; empty entries are dropped.
 * A live object without managedFields first gets a `before-first-apply` Update entry owning
 * everything, as kube does. Untracked: apiVersion, kind, server-owned metadata, and the reset
 * fields (`status` by default, whose applied values are also not merged).
 *
 * Not covered: `null` values in the applied configuration are dropped (kube's exact treatment
 * was not verified); a pruned field is removed, and resetting it to its default is left to the
 * caller's defaulting; conversion of other managers' sets between API versions; the
 * last-applied-configuration annotation interplay with client-side apply; the cap of ten
 * Update managers; struct-level granular/atomic markers beyond the table; pruning a list
 * element while another manager owns something inside it (kept whole here).
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { badRequest, StatusError } from "../errors.ts";
import { setOwn } from "../own.ts";
import type { KubeObject } from "../types.ts";
import { ancestors, decodePath, displayPath } from "./_fieldpath.ts";
import { compare, elementKey, isUntracked, leavesOf, removePaths } from "./_fieldset.ts";
import { childField, type GroupKind, type SchemaNode, schemaFor } from "./_schema.ts";
import {
  decodeManagedFields,
  defaultResetFields,
  describeManager,
  encodeManagedFields,
  type ManagedFieldsEntry,
  type ManagerEntry,
  rfc3339,
  sameManager,
} from "./managed.ts";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export interface ApplyOptions {
  /** The request's fieldManager (required for apply). */
  manager: string;
  force: boolean;
  kind: GroupKind;
  /** Defaults to `applied.apiVersion`. */
  apiVersion?: string;
  /** How lists and maps merge; defaults to the built-in table of `kind` (`_schema.ts`). */
  schema?: SchemaNode;
  subresource?: string;
  /** Top-level fields not tracked nor merged; defaults to `status` (`spec` for `/status`). */
  resetFields?: readonly string[];
  now?: () => Date;
}

export interface ApplyResult {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/** The manager kube invents for fields that existed before any tracking. */
export const BEFORE_FIRST_APPLY = "before-first-apply";

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, e] of Object.entries(v))
    if (e !== null && e !== undefined) setOwn(out, k, dropNulls(e));
  return out;
}

/** A stable identity for list elements: the JSON of their key (or value, for sets). */
function identity(element: unknown, schema: SchemaNode | undefined): string | undefined {
  if (schema?.rule?.primitiveMerge) return JSON.stringify(element);
  const key = elementKey(element, schema);
  return key ? JSON.stringify(Object.entries(key).sort()) : undefined;
}

/**
 * structured-merge-diff's list merge: shared elements follow the applied order, live-only
 * elements stay where they were relative to them, new elements come where the applied list
 * puts them.
 */
function mergeList(live: unknown[], applied: unknown[], schema: SchemaNode): unknown[] {
  const lIds = live.map((e, i) => identity(e, schema) ?? `\u0000live${i}`);
  const rIds = applied.map((e, i) => identity(e, schema) ?? `\u0000applied${i}`);
  const liveById = new Map<string, unknown>();
  lIds.forEach((id, i) => {
    if (!liveById.has(id)) liveById.set(id, live[i]);
  });
  const appliedIds = new Set(rIds);
  const shared = rIds.filter((id) => liveById.has(id));
  let nextShared = 0;
  const done = new Set<string>();
  const out: unknown[] = [];
  const merge = (id: string, r: unknown): unknown =>
    schema.rule?.primitiveMerge ? r : mergeValue(liveById.get(id), r, schema.items);
  let l = 0;
  let r = 0;
  while (l < live.length || r < applied.length) {
    if (l < live.length && r < applied.length) {
      if (lIds[l] === rIds[r]) {
        const id = rIds[r]!;
        out.push(merge(id, applied[r]));
        done.add(id);
        l++;
        r++;
        if (shared[nextShared] === id) nextShared++;
        continue;
      }
      const lid = lIds[l]!;
      if (appliedIds.has(lid) && nextShared < shared.length && shared[nextShared] !== lid) {
        l++;
        continue;
      }
    }
    if (l < live.length) {
      const lid = lIds[l]!;
      if (!appliedIds.has(lid)) {
        out.push(live[l]);
        l++;
        continue;
      }
      if (done.has(lid)) {
        l++;
        continue;
      }
    }
    if (r < applied.length) {
      const id = rIds[r]!;
      if (!done.has(id)) out.push(merge(id, applied[r]));
      done.add(id);
      r++;
      if (shared[nextShared] === id) nextShared++;
    }
  }
  return out;
}

// Ownership, which lets the merge take values as they are instead of copying them: `live` here is
// always part of mergeObject's own copy of the stored object, and `applied` part of the
// configuration dropNulls copied, used for nothing after the merge. Every value lands in the
// result once, so the result shares nothing with the caller's objects.
function mergeValue(live: unknown, applied: unknown, schema: SchemaNode | undefined): unknown {
  if (schema?.rule?.atomic) return applied;
  if (isObj(applied) && isObj(live)) {
    const out: Obj = { ...live };
    for (const [k, v] of Object.entries(applied))
      setOwn(out, k, mergeValue(live[k], v, childField(schema, k)));
    return out;
  }
  if (
    Array.isArray(applied) &&
    Array.isArray(live) &&
    schema &&
    (schema.rule?.mergeKey || schema.rule?.primitiveMerge)
  ) {
    return mergeList(live, applied, schema);
  }
  return applied;
}

/** Merges the applied configuration into the live object, leaving untracked fields alone. */
function mergeObject(
  live: KubeObject,
  applied: Obj,
  schema: SchemaNode,
  resetFields: readonly string[],
): KubeObject {
  const out = structuredClone(live) as Obj;
  const walk = { resetFields };
  for (const [k, v] of Object.entries(applied)) {
    if (isUntracked(k, undefined, walk)) continue;
    if (k === "metadata" && isObj(v)) {
      const meta = (out.metadata ?? {}) as Obj;
      const metaSchema = childField(schema, "metadata");
      for (const [mk, mv] of Object.entries(v)) {
        if (isUntracked(k, mk, walk)) continue;
        setOwn(meta, mk, mergeValue(meta[mk], mv, childField(metaSchema, mk)));
      }
      out.metadata = meta;
      continue;
    }
    setOwn(out, k, mergeValue(out[k], v, childField(schema, k)));
  }
  return out as KubeObject;
}

function withoutManagedFields(obj: KubeObject | undefined): unknown {
  if (!obj) return undefined;
  const copy = { ...obj, metadata: { ...obj.metadata } };
  delete copy.metadata.managedFields;
  return copy;
}

function conflictError(conflicts: Array<{ manager: ManagerEntry; paths: string[] }>): StatusError {
  const all = conflicts.flatMap((c) => c.paths.map((p) => ({ manager: c.manager, path: p })));
  const causes = all.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${describeManager(c.manager)}`,
    field: displayPath(decodePath(c.path)),
  }));
  let message: string;
  if (all.length === 1) {
    const only = all[0]!;
    message = `Apply failed with 1 conflict: conflict with ${describeManager(only.manager)}: ${displayPath(decodePath(only.path))}`;
  } else {
    const lines: string[] = [];
    const byManager = [...conflicts].sort((a, b) =>
      describeManager(a.manager) < describeManager(b.manager) ? -1 : 1,
    );
    for (const c of byManager) {
      lines.push(`conflicts with ${describeManager(c.manager)}:`);
      for (const p of c.paths) lines.push(`- ${displayPath(decodePath(p))}`);
    }
    message = `Apply failed with ${all.length} conflicts: ${lines.join("\n")}`;
  }
  return new StatusError(409, "Conflict", message, { causes });
}

/**
 * Applies `applied` (the decoded apply body) for `options.manager`. `live` is the stored
 * object, or undefined when the apply creates it. Returns the new object (its
 * `metadata.managedFields` set) and the managedFields alone; when nothing changed, `object`
 * deep-equals `live` apart from managedFields so the caller can skip the write.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  options: ApplyOptions,
): ApplyResult {
  if (!isObj(applied)) throw badRequest("the apply configuration must be a JSON object");
  const appliedMeta = (applied as Obj).metadata;
  if (
    isObj(appliedMeta) &&
    Array.isArray(appliedMeta.managedFields) &&
    appliedMeta.managedFields.length > 0
  ) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const schema = options.schema ?? schemaFor(options.kind);
  const resetFields = options.resetFields ?? defaultResetFields(options.subresource);
  const walk = { resetFields };
  const now = rfc3339((options.now ?? (() => new Date()))());
  const config = dropNulls(applied) as Obj;
  if (isObj(config.metadata)) delete config.metadata.managedFields;

  const managers = decodeManagedFields(live?.metadata.managedFields);
  const liveLeaves = leavesOf(live ?? {}, schema, walk);
  if (live && managers.length === 0 && liveLeaves.size > 0) {
    managers.push({
      manager: BEFORE_FIRST_APPLY,
      operation: "Update",
      apiVersion: live.apiVersion ?? "",
      time: now,
      set: new Set(liveLeaves.keys()),
    });
  }

  const id = {
    manager: options.manager,
    operation: "Apply" as const,
    apiVersion: options.apiVersion ?? applied.apiVersion ?? "",
    ...(options.subresource ? { subresource: options.subresource } : {}),
  };
  let applier = managers.find((m) => sameManager(m, id));
  const lastSet = applier?.set ?? new Set<string>();
  const appliedSet = new Set(leavesOf(config, schema, { ...walk, strict: true }).keys());
  const isNewEntry = !applier;
  if (!applier) {
    applier = { ...id, set: appliedSet };
    managers.push(applier);
  } else {
    applier.set = appliedSet;
    applier.apiVersion = id.apiVersion;
  }

  const merged = live ? mergeObject(live, config, schema, resetFields) : (config as KubeObject);

  // Prune what the applier dropped, unless someone (the applier included) still owns it or
  // something below it.
  const ownedKeys = new Set<string>();
  for (const m of managers) for (const p of m.set) ownedKeys.add(p);
  const ownedBelow = ancestors(ownedKeys);
  const toRemove = [...lastSet].filter((p) => !ownedKeys.has(p) && !ownedBelow.has(p));
  removePaths(merged as Obj, toRemove, schema, ownedKeys);

  const c = compare(liveLeaves, leavesOf(merged, schema, walk));
  const touched = new Set([...c.added, ...c.modified]);
  const conflicts: Array<{ manager: ManagerEntry; paths: string[] }> = [];
  for (const m of managers) {
    if (m === applier) continue;
    const paths = [...m.set].filter((p) => touched.has(p)).sort();
    if (paths.length > 0) conflicts.push({ manager: m, paths });
  }
  if (conflicts.length > 0 && !options.force) throw conflictError(conflicts);
  for (const m of managers) {
    if (m === applier) continue;
    for (const p of touched) m.set.delete(p);
    for (const p of c.removed) m.set.delete(p);
  }

  const changed = !isDeepStrictEqual(withoutManagedFields(live), withoutManagedFields(merged));
  if (changed || isNewEntry || !applier.time) applier.time = now;
  const managedFields = encodeManagedFields(managers);
  const object = merged;
  if (managedFields.length > 0) object.metadata = { ...object.metadata, managedFields };
  else if (object.metadata) delete object.metadata.managedFields;
  return { object, managedFields };
}
