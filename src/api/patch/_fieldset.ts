/**
 * The field set of an object, as structured-merge-diff's `ToFieldSet` defines it for apply: every
 * leaf (scalar, atomic list or map, empty map or list) and every element of an associative or
 * set list. Associative lists are keyed by the schema's list-map keys (defaults filled in);
 * every other list is atomic. Fields the field manager never tracks (apiVersion, kind, the
 * server-owned metadata, and the caller's reset fields such as `status`) are left out.
 *
 * Also: comparing two objects path by path, and finding/removing the value at a path.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { badRequest } from "../errors.ts";
import {
  childPath,
  decodePath,
  encodePath,
  fieldPE,
  keyPE,
  type Path,
  valuePE,
} from "./_fieldpath.ts";
import { childField, type SchemaNode } from "./_schema.ts";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Marker stored for list elements, which are members but not leaves. */
export const ITEM = Symbol("item");

/** Encoded path → leaf value (or {@link ITEM}). */
export type Leaves = Map<string, unknown>;

/** metadata fields the field manager strips from every set (fieldmanager's stripMeta). */
const STRIPPED_META = new Set([
  "name",
  "namespace",
  "creationTimestamp",
  "selfLink",
  "uid",
  "generation",
  "managedFields",
  "resourceVersion",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
]);

export interface WalkOptions {
  /** Top-level fields left out of the sets (kube's reset fields, e.g. `status`). */
  resetFields: readonly string[];
  /**
   * An associative-list element without its key is a 400 (for an apply configuration);
   * otherwise it is skipped, so stored objects never make bookkeeping fail.
   */
  strict?: boolean;
}

/** True for top-level paths the field manager does not track. */
export function isUntracked(
  topField: string,
  metaField: string | undefined,
  opts: WalkOptions,
): boolean {
  if (topField === "apiVersion" || topField === "kind") return true;
  if (opts.resetFields.includes(topField)) return true;
  return topField === "metadata" && metaField !== undefined && STRIPPED_META.has(metaField);
}

/** The key of an element of an associative list, or undefined when it lacks a key field. */
export function elementKey(element: unknown, schema: SchemaNode | undefined): Obj | undefined {
  const rule = schema?.rule;
  if (!rule?.mergeKey || !isObj(element)) return undefined;
  const names = rule.ssaKeys ?? [rule.mergeKey];
  const key: Obj = {};
  for (const name of names) {
    const v = element[name] ?? rule.keyDefaults?.[name];
    if (v === undefined || v === null) return undefined;
    key[name] = v;
  }
  return key;
}

// Paths are built as encoded strings (`childPath`), never as arrays joined per leaf: a
// ConfigMap of 20,000 keys is 20,000 leaves, and the walk runs several times per write.
function collect(
  value: unknown,
  schema: SchemaNode | undefined,
  prefix: string,
  out: Leaves,
  strict: boolean,
): void {
  if (schema?.rule?.atomic) {
    out.set(prefix, value);
    return;
  }
  if (isObj(value)) {
    let members = 0;
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v === null || v === undefined) continue;
      members++;
      collect(v, childField(schema, k), childPath(prefix, fieldPE(k)), out, strict);
    }
    if (members === 0) out.set(prefix, value);
    return;
  }
  if (Array.isArray(value) && value.length > 0 && schema?.rule?.mergeKey) {
    for (const element of value) {
      const key = elementKey(element, schema);
      if (!key && !strict) continue;
      if (!key) {
        const names = schema.rule.ssaKeys ?? [schema.rule.mergeKey];
        const missing = names.find((n) => !isObj(element) || element[n] === undefined);
        throw badRequest(
          `associative list with keys has an element that omits key field ${JSON.stringify(missing)} (and doesn't have default value)`,
        );
      }
      const path = childPath(prefix, keyPE(key));
      if (out.has(path)) continue;
      out.set(path, ITEM);
      collect(element, schema.items, path, out, strict);
    }
    return;
  }
  if (Array.isArray(value) && value.length > 0 && schema?.rule?.primitiveMerge) {
    for (const element of value) out.set(childPath(prefix, valuePE(element)), element);
    return;
  }
  out.set(prefix, value);
}

/** Every tracked leaf and list element of `obj` with its value. */
export function leavesOf(obj: unknown, schema: SchemaNode, opts: WalkOptions): Leaves {
  const out: Leaves = new Map();
  const strict = opts.strict ?? false;
  if (!isObj(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined || isUntracked(k, undefined, opts)) continue;
    if (k === "metadata" && isObj(v)) {
      const metaSchema = childField(schema, "metadata");
      for (const [mk, mv] of Object.entries(v)) {
        if (mv === null || mv === undefined || isUntracked(k, mk, opts)) continue;
        const path = encodePath([fieldPE("metadata"), fieldPE(mk)]);
        collect(mv, childField(metaSchema, mk), path, out, strict);
      }
      continue;
    }
    collect(v, childField(schema, k), encodePath([fieldPE(k)]), out, strict);
  }
  return out;
}

export interface Comparison {
  added: Set<string>;
  removed: Set<string>;
  modified: Set<string>;
}

/** Paths added, removed and (for leaves) changed in value between two objects. */
export function compare(before: Leaves, after: Leaves): Comparison {
  const c: Comparison = { added: new Set(), removed: new Set(), modified: new Set() };
  for (const [path, v] of after) {
    if (!before.has(path)) c.added.add(path);
    else if (v === ITEM) continue;
    else {
      const old = before.get(path);
      if (!Object.is(old, v) && !isDeepStrictEqual(old, v)) c.modified.add(path);
    }
  }
  for (const path of before.keys()) if (!after.has(path)) c.removed.add(path);
  return c;
}

interface Located {
  parent: Obj | unknown[];
  at: string | number;
}

/** Finds the container and slot holding the value at `path`, following the schema. */
function locate(obj: Obj, path: Path, schema: SchemaNode): Located | undefined {
  let cur: unknown = obj;
  let node: SchemaNode | undefined = schema;
  let found: Located | undefined;
  for (const pe of path) {
    const body = pe.slice(2);
    if (pe.startsWith("f:")) {
      if (!isObj(cur) || !(body in cur)) return undefined;
      found = { parent: cur, at: body };
      cur = cur[body];
      node = childField(node, body);
    } else if (pe.startsWith("k:") || pe.startsWith("v:")) {
      if (!Array.isArray(cur)) return undefined;
      const list: unknown[] = cur;
      const wanted = JSON.parse(body) as unknown;
      const listNode = node;
      const i = pe.startsWith("k:")
        ? list.findIndex((e) => isDeepStrictEqual(elementKey(e, listNode), wanted))
        : list.findIndex((e) => isDeepStrictEqual(e, wanted));
      if (i < 0) return undefined;
      found = { parent: list, at: i };
      cur = list[i];
      if (pe.startsWith("k:")) node = node?.items;
    } else {
      return undefined;
    }
  }
  return found;
}

/**
 * Key counts of the maps a removal touches, counted once and then kept up to date, so that
 * asking whether a map of n keys became empty after each of its n removals stays linear.
 */
class MapSizes {
  readonly #sizes = new Map<Obj, number>();

  isEmpty(v: unknown): boolean {
    if (Array.isArray(v)) return v.length === 0;
    if (!isObj(v)) return false;
    let n = this.#sizes.get(v);
    if (n === undefined) {
      n = Object.keys(v).length;
      this.#sizes.set(v, n);
    }
    return n === 0;
  }

  remove(loc: Located): void {
    if (Array.isArray(loc.parent)) {
      loc.parent.splice(loc.at as number, 1);
      return;
    }
    const n = this.#sizes.get(loc.parent);
    if (n !== undefined && Object.hasOwn(loc.parent, loc.at as string)) {
      this.#sizes.set(loc.parent, n - 1);
    }
    delete loc.parent[loc.at as string];
  }
}

/**
 * Removes the value at each encoded path that exists. Shallow paths go first: removing a child
 * first could strip a list element's key and hide the element from its own removal. A map or
 * list left empty by a removal is removed too unless `owned` holds it, which is what Go's
 * `omitempty` makes of an emptied map or slice in kube.
 */
export function removePaths(
  obj: Obj,
  paths: Iterable<string>,
  schema: SchemaNode,
  owned: ReadonlySet<string>,
): void {
  const sorted = [...paths].map(decodePath).sort((a, b) => a.length - b.length);
  const sizes = new MapSizes();
  for (const path of sorted) {
    const loc = locate(obj, path, schema);
    if (!loc) continue;
    sizes.remove(loc);
    for (let depth = path.length - 1; depth > 0; depth--) {
      const prefix = path.slice(0, depth);
      if (owned.has(encodePath(prefix))) break;
      const up = locate(obj, prefix, schema);
      if (!up) break;
      const value = Array.isArray(up.parent)
        ? up.parent[up.at as number]
        : up.parent[up.at as string];
      if (!sizes.isEmpty(value)) break;
      sizes.remove(up);
    }
  }
}
