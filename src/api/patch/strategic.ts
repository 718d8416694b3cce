/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), applied server side as
 * apimachinery's `StrategicMergeMapPatch` applies it (MergeParallelList and IgnoreUnmatchedNulls
 * on), driven by the per-kind table in `_schema.ts`:
 * - maps merge recursively and `null` deletes a key;
 * - lists with a merge key merge element-wise by that key; primitive merge lists merge as sets;
 *   every other list is replaced;
 * - directives: `$patch: replace|delete` in a map; `$patch: delete|replace` as a list element
 *   (`$patch: merge` there is refused, as kube refuses it); `$retainKeys`;
 *   `$setElementOrder/<list>`; `$deleteFromPrimitiveList/<list>`.
 * Merged lists are ordered as kube orders them: patch items by patch (or `$setElementOrder`)
 * order, server-only items by live order, interleaved by live positions.
 *
 * Invariants: pure (neither argument is mutated); no directive key ever survives into the result
 * (kube keeps one in a few corner cases — a replaced list's elements, a new map's nested
 * directives — which we strip). Kinds without a table entry get ObjectMeta's rules only: maps
 * merge, lists replace; the API server may refuse them with 415 as kube does for custom
 * resources ({@link supportsStrategicMergePatch}).
 *
 * Errors: a body that is not a JSON object, or a malformed directive list → 400 BadRequest;
 * lists of lists → 422; other merge failures (unknown `$patch` value, a missing merge key) →
 * 500 with apimachinery's message, as kube-apiserver passes those through unclassified.
 *
 * @module
 */
import { badRequest, StatusError } from "../errors.ts";
import { setOwn } from "../own.ts";
import type { KubeObject } from "../types.ts";
import {
  builtinSchema,
  childField,
  type GroupKind,
  type SchemaNode,
  schemaFor,
} from "./_schema.ts";
import {
  badPrimitiveList,
  badRetainKeys,
  badSetOrder,
  DIRECTIVE,
  errBadPatchType,
  errNoMergeKey,
  goType,
  goValue,
  isObj,
  kindOf,
  MergeFailure,
  type Obj,
} from "./_smp_errors.ts";
import { elementKind, liveOrderAsGoSeesIt, normalizeOrder, partition } from "./_smp_order.ts";

const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

/**
 * Drops directive maps and directive keys from a value taken verbatim from the patch. Returns
 * undefined when the value itself is a directive map (kube drops it).
 */
function removeDirectives(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const e of v) {
      const r = removeDirectives(e);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  if (!isObj(v)) return v;
  if (DIRECTIVE in v) return undefined;
  const out: Obj = {};
  for (const [k, e] of Object.entries(v)) {
    if (
      e === null ||
      k === RETAIN_KEYS ||
      k.startsWith(SET_ORDER) ||
      k.startsWith(DELETE_PRIMITIVE)
    ) {
      continue;
    }
    const r = removeDirectives(e);
    if (r !== undefined) setOwn(out, k, r);
  }
  return out;
}

function applyRetainKeys(original: Obj, patch: Obj): void {
  if (!(RETAIN_KEYS in patch)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw badRetainKeys();
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
    if (!keep.has(k)) throw badRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function mergeKeyOf(schema: SchemaNode | undefined): string {
  return schema?.rule?.mergeKey ?? "";
}

function isMergeList(schema: SchemaNode | undefined): boolean {
  return Boolean(schema?.rule?.mergeKey || schema?.rule?.primitiveMerge);
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  schema: SchemaNode | undefined,
  isDeleteList: boolean,
): unknown[] {
  if (!isMergeList(schema) && !isDeleteList) return removeDirectives(patch) as unknown[];
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  const mergeKey = mergeKeyOf(schema);
  let merged: unknown[];
  let orig = original;
  let items = patch;
  if (kind !== "map") {
    if (isDeleteList) {
      const drop = new Set(patch);
      return original.filter((v) => !drop.has(v));
    }
    merged = [...new Set([...original, ...patch])];
  } else {
    if (!mergeKey) {
      throw new MergeFailure("cannot merge lists without merge key for a list of maps", 500);
    }
    [orig, items] = applyListDirectives(original, patch, mergeKey);
    merged = [...orig];
    for (const p of items as Obj[]) {
      if (!(mergeKey in p)) throw errNoMergeKey(p, mergeKey);
      const at = merged.findIndex((v) => isObj(v) && v[mergeKey] === p[mergeKey]);
      if (at >= 0) merged[at] = mergeMap(merged[at] as Obj, p, schema?.items);
      else merged.push(mergeMap({}, p, schema?.items));
    }
  }
  const [inPatch, serverOnly] = partition(merged, items, mergeKey, kind);
  return normalizeOrder(inPatch, serverOnly, items, orig, mergeKey, kind);
}

/** Handles `$patch` elements of a merge list; returns the new original and the plain items. */
function applyListDirectives(
  original: unknown[],
  patch: unknown[],
  mergeKey: string,
): [unknown[], unknown[]] {
  let orig = original;
  const plain: unknown[] = [];
  let replace = false;
  for (const v of patch as Obj[]) {
    if (!(DIRECTIVE in v)) {
      plain.push(v);
      continue;
    }
    switch (v[DIRECTIVE]) {
      case "delete":
        if (!(mergeKey in v)) throw errNoMergeKey(v, mergeKey);
        orig = orig.filter((e) => !(isObj(e) && e[mergeKey] === v[mergeKey]));
        break;
      case "replace":
        replace = true;
        break;
      case "merge":
        throw new MergeFailure("merging lists cannot yet be specified in the patch", 500);
      default:
        throw errBadPatchType(v[DIRECTIVE], v);
    }
  }
  // `$patch: replace` in a list: the list becomes the patch's plain items, directive-free.
  if (replace) return [plain.map((p) => mergeMap({}, p as Obj, undefined)), []];
  return [orig, plain];
}

/** Checks the relative order of the patch list against its `$setElementOrder` list. */
function checkSetOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey
    ? patchList.filter((v) => !(isObj(v) && v[DIRECTIVE] === "delete"))
    : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < nonDelete.length && oi < order.length) {
    const p = nonDelete[pi];
    if (isObj(p) && DIRECTIVE in p) {
      pi++;
      continue;
    }
    const o = order[oi];
    if (mergeKey) {
      if (!isObj(p) || !(mergeKey in p)) throw errNoMergeKey(p as Obj, mergeKey);
      if (!isObj(o) || !(mergeKey in o)) throw errNoMergeKey(o as Obj, mergeKey);
      if (p[mergeKey] === o[mergeKey]) pi++;
    } else if (p === o) pi++;
    oi++;
  }
  if (pi < nonDelete.length) {
    throw new MergeFailure(
      `the order in patch list:\n${goValue(patchList)}\n doesn't match $setElementOrder list:\n${goValue(order)}`,
      500,
    );
  }
}

/** Processes every `$setElementOrder/<list>` with its list, removing both from `patch`. */
function applySetElementOrder(original: Obj, patch: Obj, schema: SchemaNode | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    const field = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw badSetOrder();
    const origList = original[field];
    const patchList = patch[field];
    if (origList !== undefined && !Array.isArray(origList)) throw badSetOrder();
    if (patchList !== undefined && !Array.isArray(patchList)) throw badSetOrder();
    const child = childField(schema, field);
    const mergeKey = mergeKeyOf(child);
    checkSetOrder(patchList ?? [], order, mergeKey);
    let merged: unknown[];
    if (origList && patchList) merged = mergeList(origList, patchList, child, false);
    else if (patchList) merged = removeDirectives(patchList) as unknown[];
    else if (origList) merged = origList;
    else continue;
    delete patch[field];
    if (merged.length === 0) {
      original[field] = merged;
      continue;
    }
    const kind = elementKind(origList ?? [], patchList ?? []);
    const [inOrder, serverOnly] = partition(merged, order, mergeKey, kind);
    const serverOrder =
      origList && patchList && kind === "map" && isMergeList(child) && mergeKey
        ? liveOrderAsGoSeesIt(origList, patchList, mergeKey)
        : (origList ?? []);
    original[field] = normalizeOrder(inOrder, serverOnly, order, serverOrder, mergeKey, kind);
  }
}

function mergeMap(original: Obj, patch: Obj, schema: SchemaNode | undefined): Obj {
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    if (d === "replace") {
      const rest = { ...patch };
      delete rest[DIRECTIVE];
      return mergeMap({}, rest, schema);
    }
    if (d === "delete") return {};
    throw errBadPatchType(d, patch);
  }
  const out = original;
  applyRetainKeys(out, patch);
  applySetElementOrder(out, patch, schema);
  for (const [rawKey, pv] of Object.entries(patch)) {
    let k = rawKey;
    let isDeleteList = false;
    if (k.startsWith(DELETE_PRIMITIVE)) {
      k = k.slice(DELETE_PRIMITIVE.length);
      isDeleteList = true;
      if (!Array.isArray(pv)) throw badPrimitiveList();
    }
    if (pv === null) {
      delete out[k];
      continue;
    }
    const child = childField(schema, k);
    const ov = out[k];
    if (ov === undefined || kindOf(ov) !== kindOf(pv)) {
      if (isDeleteList) continue;
      if (isObj(pv)) {
        // kube drops a new map that carries `$patch`; others are merged into nothing so
        // nested directives and nulls disappear.
        if (DIRECTIVE in pv) delete out[k];
        else setOwn(out, k, mergeMap({}, pv, child));
      } else if (Array.isArray(pv)) {
        setOwn(out, k, removeDirectives(pv));
      } else {
        setOwn(out, k, pv);
      }
      continue;
    }
    if (isObj(pv)) setOwn(out, k, mergeMap(ov as Obj, pv, child));
    else if (Array.isArray(pv)) setOwn(out, k, mergeList(ov as unknown[], pv, child, isDeleteList));
    else setOwn(out, k, pv);
  }
  return out;
}

function toStatusError(e: MergeFailure): StatusError {
  if (e.code === 400) return badRequest(e.message);
  if (e.code === 422) {
    return new StatusError(
      422,
      "Invalid",
      "the server rejected our request due to an error in our request",
      { causes: [{ reason: "UnexpectedServerResponse", message: e.message }] },
    );
  }
  // kube-apiserver passes the other merge errors through unclassified: its error writer answers
  // such an error with 500 and no reason (StatusReasonUnknown), the error's text as message.
  return new StatusError(500, "", e.message);
}

function decodePatch(patch: string | unknown): Obj {
  let value: unknown = patch;
  if (typeof patch === "string") {
    try {
      value = JSON.parse(patch);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  }
  if (!isObj(value)) {
    throw badRequest(
      `json: cannot unmarshal ${Array.isArray(value) ? "array" : goType(value)} into Go value of type map[string]interface {}`,
    );
  }
  return value;
}

/** True for kinds with a patch-metadata table; kube answers 415 to SMP on custom resources. */
export function supportsStrategicMergePatch(gk: GroupKind): boolean {
  return builtinSchema(gk) !== undefined;
}

/**
 * Applies a strategic merge patch (text or decoded JSON) to a copy of `original`.
 *
 * @example applyStrategicMergePatch(deploy, {spec: {template: {spec: {containers: [{name: "web", image: "nginx:2"}]}}}}, {group: "apps", kind: "Deployment"})
 */
export function applyStrategicMergePatch(
  original: KubeObject,
  patch: string | unknown,
  kind: GroupKind,
): KubeObject {
  const p = structuredClone(decodePatch(patch));
  try {
    return mergeMap(structuredClone(original) as Obj, p, schemaFor(kind)) as KubeObject;
  } catch (e) {
    if (e instanceof MergeFailure) throw toStatusError(e);
    throw e;
  }
}
