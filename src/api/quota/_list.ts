/**
 * ResourceLists (`{ "requests.cpu": 1500m, pods: 3 }`) and the arithmetic quota does on them, as
 * kube's `quota/v1` helpers: add, mask to a set of names, compare against a hard limit, and the
 * `name=value,…` form of its messages.
 *
 * @module
 */
import {
  addQuantity,
  compareQuantity,
  formatQuantity,
  type Quantity,
  quantity,
  subtractQuantity,
} from "../quantity.ts";

export type ResourceList = Record<string, Quantity>;

/** Reads a JSON resource list; entries that are not quantities are left out. */
export function parseResourceList(v: unknown): ResourceList {
  const out: ResourceList = {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, raw] of Object.entries(v)) {
    if (typeof raw !== "string" && typeof raw !== "number") continue;
    try {
      out[k] = quantity(raw);
    } catch {
      // An unparsable quantity counts as absent (validation reports it elsewhere).
    }
  }
  return out;
}

/** The JSON form, each quantity in its canonical text. */
export function formatResourceList(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(list).sort()) out[k] = formatQuantity(list[k]!);
  return out;
}

export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? addQuantity(out[k], v) : v;
  return out;
}

/** a − b, clamped at zero, as `SubtractWithNonNegativeResult`. */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) {
    const d = b[k] ? subtractQuantity(v, b[k]) : v;
    out[k] = d.nanos < 0n ? { nanos: 0n, format: v.format } : d;
  }
  return out;
}

/** The entries of `list` whose names are in `names`. */
export function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const n of names) if (list[n]) out[n] = list[n];
  return out;
}

export function removeZeros(list: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list)) if (v.nanos !== 0n) out[k] = v;
  return out;
}

/** Names with a negative quantity. */
export function negatives(list: ResourceList): string[] {
  return Object.keys(list).filter((k) => list[k]!.nanos < 0n);
}

/** Whether every entry of `a` that `b` limits is at most `b`'s; the names that exceed. */
export function lessThanOrEqual(a: ResourceList, b: ResourceList): string[] {
  const exceeded: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    const limit = b[k];
    if (limit && compareQuantity(v, limit) > 0) exceeded.push(k);
  }
  return exceeded;
}

export function listsEqual(a: ResourceList, b: ResourceList): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] !== undefined && compareQuantity(a[k]!, b[k]) === 0);
}

/** `requests.cpu=2,requests.memory=1Gi`: sorted names, canonical values, as kube's prettyPrint. */
export function prettyPrint(list: ResourceList): string {
  return Object.keys(list)
    .sort()
    .map((k) => `${k}=${formatQuantity(list[k]!)}`)
    .join(",");
}
