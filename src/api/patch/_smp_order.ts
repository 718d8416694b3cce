/**
 * Element order of merged strategic-merge lists, as apimachinery computes it: items named by
 * the patch (or its `$setElementOrder`) in that order, live-only items in live order, the two
 * interleaved by live positions (normalizeElementOrder / mergeSortedSlice).
 *
 * @module
 */
import {
  DIRECTIVE,
  errNoMergeKey,
  goValue,
  isObj,
  kindOf,
  MergeFailure,
  type Obj,
} from "./_smp_errors.ts";

/** Element kind shared by all the lists; lists of lists are refused. */
export function elementKind(...lists: unknown[][]): string {
  let kind: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (kind === undefined) {
        if (k === "slice") throw new MergeFailure("lists of lists are not supported", 422);
        kind = k;
      } else if (k !== kind) {
        throw new MergeFailure(`list element types are not identical: ${goValue(lists)}`, 500);
      }
    }
  }
  if (kind === undefined) throw new MergeFailure("no elements in any of the given slices", 500);
  return kind;
}

export function keyValue(item: unknown, mergeKey: string, kind: string): unknown {
  return kind === "map" ? (isObj(item) ? item[mergeKey] : undefined) : item;
}

export function indexIn(list: unknown[], item: unknown, mergeKey: string, kind: string): number {
  const want = keyValue(item, mergeKey, kind);
  return list.findIndex((v) => keyValue(v, mergeKey, kind) === want);
}

export function sortByOrder(
  items: unknown[],
  order: unknown[],
  mergeKey: string,
  kind: string,
): unknown[] {
  return items
    .map((item, i) => ({ item, i, at: indexIn(order, item, mergeKey, kind) }))
    .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i))
    .map((e) => e.item);
}

/**
 * kube's normalizeElementOrder: patch items in `patchOrder`, server-only items in
 * `serverOrder`, then server-only items slotted in before the first patch item that follows
 * them in the live list.
 */
export function normalizeOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: string,
): unknown[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, kind);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push(left[i++]);
    else if (i >= left.length) out.push(right[j++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

export function partition(
  merged: unknown[],
  by: unknown[],
  mergeKey: string,
  kind: string,
): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (kind === "map" && !(isObj(v) && mergeKey in v)) throw errNoMergeKey(v as Obj, mergeKey);
    (indexIn(by, v, mergeKey, kind) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/**
 * The live list as kube's `$setElementOrder` step reads it after merging. In apimachinery the
 * merge deletes elements by shifting the live slice in place and appends new ones into its
 * spare room, and the ordering step then reads the live slice through the same backing array.
 * Orders kube produces depend on that (e.g. live [a, d], patch "add b, c, delete a" with order
 * [b, c] gives [d, b, c]), so we replay it: deletions shift left within the original length,
 * then new elements fill the slots the deletions freed.
 */
export function liveOrderAsGoSeesIt(
  live: unknown[],
  patch: unknown[],
  mergeKey: string,
): unknown[] {
  const view = [...live];
  let len = view.length;
  const sameKey = (e: unknown, v: unknown) => isObj(e) && e[mergeKey] === v;
  for (const p of patch) {
    if (!isObj(p) || p[DIRECTIVE] !== "delete") continue;
    for (;;) {
      const at = view.slice(0, len).findIndex((e) => sameKey(e, p[mergeKey]));
      if (at < 0) break;
      for (let j = at; j < len - 1; j++) view[j] = view[j + 1];
      len--;
    }
  }
  if (patch.some((p) => isObj(p) && p[DIRECTIVE] === "replace")) return view;
  const current = view.slice(0, len);
  for (const p of patch) {
    if (!isObj(p) || DIRECTIVE in p) continue;
    if (current.some((e) => sameKey(e, p[mergeKey]))) continue;
    current.push(p);
    // Go's append writes into the original array only while it has room.
    if (len < view.length) view[len++] = p;
  }
  return view;
}
