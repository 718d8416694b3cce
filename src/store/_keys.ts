/**
 * An ordered set of string keys for prefix ranges: a sorted list cut into leaves (at most
 * `2 * LOAD` keys each) with the last key of every leaf kept in a separate sorted array.
 *
 * Costs, with N keys, k keys in a range and B = LOAD:
 * - insert / delete: O(log N + B) (binary search over leaves, then a splice inside one leaf);
 *   a plain sorted array would move O(N) pointers per insert, which at 150,000 keys dominates.
 * - range start / end: O(log N); walking k keys: O(k); counting k keys: O(k / B).
 *
 * Order is JavaScript string order (UTF-16 code units), which equals byte order for the ASCII
 * keys the API server builds. Keys are opaque: a prefix range is [prefix, prefixEnd(prefix)).
 *
 * @module
 */

const LOAD = 512;

/** A position between keys: before `leaves[leaf][offset]`; the end is `{ leaf: leaves.length }`. */
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

export class SortedKeys {
  private leaves: string[][] = [];
  /** maxes[i] is the last key of leaves[i]. */
  private maxes: string[] = [];
  private count = 0;

  /** Builds the set from keys already sorted and unique (bulk load at open). */
  static fromSorted(keys: readonly string[]): SortedKeys {
    const set = new SortedKeys();
    for (let i = 0; i < keys.length; i += LOAD) {
      const leaf = keys.slice(i, i + LOAD);
      set.leaves.push(leaf);
      set.maxes.push(leaf[leaf.length - 1]!);
    }
    set.count = keys.length;
    return set;
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    const li = bisect(this.maxes, key, false);
    const leaf = this.leaves[li];
    return leaf !== undefined && leaf[bisect(leaf, key, false)] === key;
  }

  /** Adds `key`; false if it was already there. */
  insert(key: string): boolean {
    if (this.leaves.length === 0) {
      this.leaves.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return true;
    }
    let li = bisect(this.maxes, key, false);
    let leaf: string[];
    if (li === this.leaves.length) {
      // Greater than every key: append to the last leaf (the common case for new names).
      li--;
      leaf = this.leaves[li]!;
      leaf.push(key);
      this.maxes[li] = key;
    } else {
      leaf = this.leaves[li]!;
      const i = bisect(leaf, key, false);
      if (leaf[i] === key) return false;
      leaf.splice(i, 0, key);
    }
    this.count++;
    if (leaf.length > 2 * LOAD) {
      const upper = leaf.splice(LOAD);
      this.leaves.splice(li + 1, 0, upper);
      this.maxes[li] = leaf[leaf.length - 1]!;
      this.maxes.splice(li + 1, 0, upper[upper.length - 1]!);
    }
    return true;
  }

  /** Removes `key`; false if it was not there. */
  delete(key: string): boolean {
    const li = bisect(this.maxes, key, false);
    const leaf = this.leaves[li];
    if (leaf === undefined) return false;
    const i = bisect(leaf, key, false);
    if (leaf[i] !== key) return false;
    leaf.splice(i, 1);
    this.count--;
    if (leaf.length === 0) {
      this.leaves.splice(li, 1);
      this.maxes.splice(li, 1);
      return true;
    }
    this.maxes[li] = leaf[leaf.length - 1]!;
    // Merge a thin leaf into its right neighbour so that leaf count stays O(N / LOAD).
    const next = this.leaves[li + 1];
    if (leaf.length < LOAD / 2 && next !== undefined) {
      leaf.push(...next);
      this.leaves.splice(li + 1, 1);
      this.maxes.splice(li, 1);
      if (leaf.length > 2 * LOAD) {
        const upper = leaf.splice(LOAD);
        this.leaves.splice(li + 1, 0, upper);
        this.maxes.splice(li, 0, leaf[leaf.length - 1]!);
      }
    }
    return true;
  }

  /** Keys starting with `prefix`, in order, after `after` (exclusive) when given, at most `limit`. */
  range(prefix: string, options: { after?: string | undefined; limit?: number }): string[] {
    let from = this.lowerBound(prefix);
    if (options.after !== undefined && options.after >= prefix) {
      const past = this.upperBound(options.after);
      if (compare(past, from) > 0) from = past;
    }
    const to = this.endOf(prefix);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: string[] = [];
    let { leaf: li, offset } = from;
    while (out.length < limit && compare({ leaf: li, offset }, to) < 0) {
      const leaf = this.leaves[li]!;
      const stop = li === to.leaf ? to.offset : leaf.length;
      const take = Math.min(stop - offset, limit - out.length);
      for (let i = offset; i < offset + take; i++) out.push(leaf[i]!);
      offset += take;
      if (offset >= leaf.length) {
        li++;
        offset = 0;
      }
    }
    return out;
  }

  /** How many keys start with `prefix` and sort after `after` (exclusive) when given. */
  countRange(prefix: string, after?: string): number {
    let from = this.lowerBound(prefix);
    if (after !== undefined && after >= prefix) {
      const past = this.upperBound(after);
      if (compare(past, from) > 0) from = past;
    }
    return this.between(from, this.endOf(prefix));
  }

  private endOf(prefix: string): Position {
    const end = prefixEnd(prefix);
    return end === undefined ? { leaf: this.leaves.length, offset: 0 } : this.lowerBound(end);
  }

  private between(a: Position, b: Position): number {
    if (compare(a, b) >= 0) return 0;
    if (a.leaf === b.leaf) return b.offset - a.offset;
    let n = this.leaves[a.leaf]!.length - a.offset + b.offset;
    for (let li = a.leaf + 1; li < b.leaf; li++) n += this.leaves[li]!.length;
    return n;
  }

  /** Position of the first key >= key. */
  private lowerBound(key: string): Position {
    const li = bisect(this.maxes, key, false);
    if (li === this.leaves.length) return { leaf: li, offset: 0 };
    return { leaf: li, offset: bisect(this.leaves[li]!, key, false) };
  }

  /** Position of the first key > key. */
  private upperBound(key: string): Position {
    const li = bisect(this.maxes, key, true);
    if (li === this.leaves.length) return { leaf: li, offset: 0 };
    return { leaf: li, offset: bisect(this.leaves[li]!, key, true) };
  }
}

function compare(a: Position, b: Position): number {
  return a.leaf !== b.leaf ? a.leaf - b.leaf : a.offset - b.offset;
}
