/**
 * Strategic-merge failures and the Go value formatting apimachinery's messages embed. A
 * {@link MergeFailure} carries the HTTP code kube-apiserver answers for it: 400 for malformed
 * directives, 422 for lists of lists, 500 for the rest (kube passes those through unclassified).
 *
 * @module
 */

export type Obj = Record<string, unknown>;

export const DIRECTIVE = "$patch";

export class MergeFailure extends Error {
  constructor(
    message: string,
    readonly code: 400 | 422 | 500,
  ) {
    super(message);
  }
}

export const badPrimitiveList = () =>
  new MergeFailure("invalid patch format of primitive list", 400);
export const badRetainKeys = () => new MergeFailure("invalid patch format of retainKeys", 400);
export const badSetOrder = () =>
  new MergeFailure("invalid patch format of setElementOrder list", 400);

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Go's `%v` rendering, used inside apimachinery's error messages. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(goValue).join(" ")}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(" ")}]`;
  }
  return String(v);
}

export function goType(v: unknown): string {
  if (Array.isArray(v)) return "[]interface {}";
  if (isObj(v)) return "map[string]interface {}";
  if (typeof v === "number") return "float64";
  if (v === null || v === undefined) return "<nil>";
  return typeof v === "boolean" ? "bool" : "string";
}

/** The JSON kind Go's reflect would compare: map, slice, string, number, bool. */
export function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "slice";
  if (isObj(v)) return "map";
  return typeof v;
}

export function errBadPatchType(t: unknown, m: Obj): MergeFailure {
  return new MergeFailure(`unknown patch type: ${goValue(t)} in map: ${goValue(m)}`, 500);
}

export function errNoMergeKey(m: Obj, key: string): MergeFailure {
  return new MergeFailure(`map: ${goValue(m)} does not contain declared merge key: ${key}`, 500);
}
