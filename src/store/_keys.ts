/**
 * An ordered map from string keys to values for prefix ranges: a sorted list cut into leaves (at
 * most `2 * LOAD` entries each, keys and values in parallel arrays) with the last key of every
 * leaf kept in a separate sorted array.
 *
 * Costs, with N entries, k entries in a range and B = LOAD:
 * - insert / delete: O(log N + B) (binary search over leaves, then a splice inside one leaf);
 *   a plain sorted array would move O(N) pointers per insert, which at 150,000 keys dominates.
 * - set (replace a value), has: O(log N).
 * - range start / end: O(log N); reading k values: O(k), sequentially from the leaves (a list
 *   that looked each key up in a hash map of 160,000 entries took ten times longer);
 *   counting k entries: O(k / B).
 *
 * Order is JavaScript string order (UTF-16 code units), which equals byte order for the ASCII
 * keys the API server builds. Keys are opaque: a prefix range is [prefix, prefixEnd(prefix)).
 *
 * @module
 */

const LOAD = 512;

/** A position between entries: before `keys[leaf][offset]`; the end is `{ leaf: keys.length }`. */
interface Position {
  leaf: number;
  offset: number;
}

/** The smallest string greater than every string that starts with `prefix`; undefined for "". */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return undefined;
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}

/** First index whose element is >= key (left) or > key (right). */
function bisect(sorted: readonly string[], key: string, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < key || (right && v === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RangeOptions {
  /** Start after this key (exclusive). */
  after?: string | undefined;
  /** At most this many entries. */
  limit?: number | undefined;
}

export class SortedMap<V> {
  private keys: string[][] = [];
  private values: V[][] = [];
  /** maxes[i] is the last key of keys[i]. */
  private maxes: string[] = [];
  private count = 0;

  /** Builds the map from entries already sorted by key, keys unique (bulk load at open). */
  static fromSorted<V>(entries: ReadonlyArray<readonly [string, V]>): SortedMap<V> {
    const map = new SortedMap<V>();
    for (let i = 0; i < entries.length; i += LOAD) {
      const slice = entries.slice(i, i + LOAD);
      map.keys.push(slice.map((e) => e[0]));
      map.values.push(slice.map((e) => e[1]));
      map.maxes.push(slice[slice.length - 1]![0]);
    }
    map.count = entries.length;
    return map;
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  /** Adds an entry; false (and no change) if the key is already there. */
  insert(key: string, value: V): boolean {
    if (this.keys.length === 0) {
      this.keys.push([key]);
      this.values.push([value]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    let li = bisect(this.maxes, key, false);
    if (li === this.keys.length) {
      // Greater than every key: append to the last leaf (the common case for new names).
      li--;
      this.keys[li]!.push(key);
      this.values[li]!.push(value);
      this.maxes[li] = key;
    } else {
      const leaf = this.keys[li]!;
      const i = bisect(leaf, key, false);
      if (leaf[i] === key) return false;
      leaf.splice(i, 0, key);
      this.values[li]!.splice(i, 0, value);
    }
    this.count++;
    if (this.keys[li]!.length > 2 * LOAD) this.split(li);
    return true;
  }

  /** Replaces the value of an existing key; false if the key is not there. */
  set(key: string, value: V): boolean {
    const at = this.find(key);
    if (at === undefined) return false;
    this.values[at.leaf]![at.offset] = value;
    return true;
  }

  /** Removes an entry; false if the key was not there. */
  delete(key: string): boolean {
    const at = this.find(key);
    if (at === undefined) return false;
    const li = at.leaf;
    const leaf = this.keys[li]!;
    leaf.splice(at.offset, 1);
    this.values[li]!.splice(at.offset, 1);
    this.count--;
    if (leaf.length === 0) {
      this.keys.splice(li, 1);
      this.values.splice(li, 1);
      this.maxes.splice(li, 1);
      return true;
    }
    this.maxes[li] = leaf[leaf.length - 1]!;
    // Merge a thin leaf into its right neighbour so that the leaf count stays O(N / LOAD).
    if (leaf.length < LOAD / 2 && li + 1 < this.keys.length) {
      leaf.push(...this.keys[li + 1]!);
      this.values[li]!.push(...this.values[li + 1]!);
      this.keys.splice(li + 1, 1);
      this.values.splice(li + 1, 1);
      this.maxes.splice(li, 1);
      if (leaf.length > 2 * LOAD) this.split(li);
    }
    return true;
  }

  /** Values of the keys starting with `prefix`, in key order, and the last of those keys. */
  range(prefix: string, options: RangeOptions = {}): { values: V[]; lastKey: string | undefined } {
    const from = this.startOf(prefix, options.after);
    const to = this.endOf(prefix);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const values: V[] = [];
    let lastKey: string | undefined;
    let li = from.leaf;
    let offset = from.offset;
    while (values.length < limit && (li < to.leaf || (li === to.leaf && offset < to.offset))) {
      const leaf = this.values[li]!;
      const stop = li === to.leaf ? to.offset : leaf.length;
      const end = Math.min(stop, offset + (limit - values.length));
      for (let i = offset; i < end; i++) values.push(leaf[i]!);
      lastKey = this.keys[li]![end - 1];
      offset = end;
      if (offset >= leaf.length) {
        li++;
        offset = 0;
      }
    }
    return { values, lastKey };
  }

  /** How many keys start with `prefix` and sort after `after` (exclusive) when given. */
  countRange(prefix: string, after?: string): number {
    const a = this.startOf(prefix, after);
    const b = this.endOf(prefix);
    if (compare(a, b) >= 0) return 0;
    if (a.leaf === b.leaf) return b.offset - a.offset;
    let n = this.keys[a.leaf]!.length - a.offset + b.offset;
    for (let li = a.leaf + 1; li < b.leaf; li++) n += this.keys[li]!.length;
    return n;
  }

  private find(key: string): Position | undefined {
    const li = bisect(this.maxes, key, false);
    const leaf = this.keys[li];
    if (leaf === undefined) return undefined;
    const offset = bisect(leaf, key, false);
    return leaf[offset] === key ? { leaf: li, offset } : undefined;
  }

  private split(li: number): void {
    const upperKeys = this.keys[li]!.splice(LOAD);
    const upperValues = this.values[li]!.splice(LOAD);
    const lower = this.keys[li]!;
    this.keys.splice(li + 1, 0, upperKeys);
    this.values.splice(li + 1, 0, upperValues);
    this.maxes.splice(li, 1, lower[lower.length - 1]!, upperKeys[upperKeys.length - 1]!);
  }

  private startOf(prefix: string, after: string | undefined): Position {
    const from = this.bound(prefix, false);
    if (after === undefined || after < prefix) return from;
    const past = this.bound(after, true);
    return compare(past, from) > 0 ? past : from;
  }

  private endOf(prefix: string): Position {
    const end = prefixEnd(prefix);
    return end === undefined ? { leaf: this.keys.length, offset: 0 } : this.bound(end, false);
  }

  /** Position of the first key >= key (or > key when `right`). */
  private bound(key: string, right: boolean): Position {
    const li = bisect(this.maxes, key, right);
    if (li === this.keys.length) return { leaf: li, offset: 0 };
    return { leaf: li, offset: bisect(this.keys[li]!, key, right) };
  }
}

function compare(a: Position, b: Position): number {
  return a.leaf !== b.leaf ? a.leaf - b.leaf : a.offset - b.offset;
}
