/**
 * Field paths and field sets as structured-merge-diff writes them in `managedFields`.
 *
 * A path element is stored in its `fieldsV1` spelling: `f:<field>`, `k:<json of the key fields,
 * sorted>` for an element of an associative list, `v:<json>` for a member of a set list,
 * `i:<n>` for a list index. A path is a list of elements; a set is a plain `Set` of encoded
 * paths. In `fieldsV1`, a path that is a member and also has members below it carries `".": {}`.
 *
 * @module
 */
import { setOwn } from "../own.ts";

export type PathElement = string;
export type Path = PathElement[];

/** Separator for encoded paths: cannot occur inside JSON or a field name we accept. */
const SEP = "\u0000";

export function encodePath(path: Path): string {
  return path.join(SEP);
}

export function decodePath(key: string): Path {
  return key === "" ? [] : key.split(SEP);
}

/** The encoded path of `pe` below the encoded non-root path `prefix`: `encodePath([...prefix,
 *  pe])` without building the array, as the field-set walks do once per leaf. */
export function childPath(prefix: string, pe: PathElement): string {
  return `${prefix}${SEP}${pe}`;
}

/**
 * Every encoded path some member of `paths` lies strictly below (the root `""` included when a
 * member is not the root): `ancestors(s).has(encodePath(p))` is `[...s].some((o) =>
 * isBelow(decodePath(o), p))`, in time linear in the paths' total length.
 */
export function ancestors(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    if (p === "") continue;
    out.add("");
    for (let i = p.indexOf(SEP); i >= 0; i = p.indexOf(SEP, i + 1)) {
      out.add(p.slice(0, i));
    }
  }
  return out;
}

export function fieldPE(name: string): PathElement {
  return `f:${name}`;
}

/** Key fields sorted by name, as structured-merge-diff sorts them. */
export function keyPE(fields: Record<string, unknown>): PathElement {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) sorted[k] = fields[k];
  return `k:${JSON.stringify(sorted)}`;
}

export function valuePE(value: unknown): PathElement {
  return `v:${JSON.stringify(value)}`;
}

/** `.spec.replicas`, `[name="web"]`, `[="a"]`, `[0]`: fieldpath.Path's String(). */
function displayElement(pe: PathElement): string {
  const body = pe.slice(2);
  switch (pe.slice(0, 2)) {
    case "f:":
      return `.${body}`;
    case "k:": {
      const key = JSON.parse(body) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    }
    case "v:":
      return `[=${body}]`;
    case "i:":
      return `[${body}]`;
    default:
      return "{{invalid path element}}";
  }
}

export function displayPath(path: Path): string {
  return path.map(displayElement).join("");
}

/** True when `path` starts with `prefix` and is longer. */
export function isBelow(path: Path, prefix: Path): boolean {
  return path.length > prefix.length && prefix.every((pe, i) => path[i] === pe);
}

/**
 * Serializes a set to the `fieldsV1` JSON object, children in sorted order. The encoded paths
 * are sorted once: the separator sorts below every other character, so their order is the
 * tree's depth-first order with each node's children sorted, and every node is built, its
 * children inserted in order, in one pass.
 */
export function toFieldsV1(set: Set<string>): Record<string, unknown> {
  type Node = Record<string, unknown>;
  const root: Node = {};
  // Members whose children are not added yet: the first child puts `"."` ahead of itself.
  const childless = new Set<Node>();
  for (const key of [...set].sort()) {
    let node = root;
    for (const pe of decodePath(key)) {
      // An element read from a stored fieldsV1 may be any string, `__proto__` too.
      let child = Object.hasOwn(node, pe) ? (node[pe] as Node) : undefined;
      if (child === undefined) {
        if (childless.delete(node)) node["."] = {};
        child = {};
        setOwn(node, pe, child);
      }
      node = child;
    }
    // Sorted order visits a path before everything below it: the node has no children yet.
    childless.add(node);
  }
  return root;
}

/** Parses a `fieldsV1` object back to a set; unknown shapes are skipped, not fatal. */
export function fromFieldsV1(fields: unknown): Set<string> {
  const set = new Set<string>();
  const walk = (node: unknown, prefix: string, root: boolean): void => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && !root) {
      set.add(prefix);
      return;
    }
    for (const pe of keys) {
      if (pe === ".") set.add(prefix);
      else walk((node as Record<string, unknown>)[pe], root ? pe : childPath(prefix, pe), false);
    }
  };
  walk(fields, "", true);
  return set;
}
