/**
 * Completion indexes of an Indexed Job as ordered, merged intervals — the form of
 * `status.completedIndexes` and `status.failedIndexes` (`1,3-5,7`: runs of three or more are
 * written `first-last`, a pair as `a,b`). Parsing ignores indexes at or beyond `completions`, as
 * kube does after a scale-down.
 *
 * @module
 */

export interface Interval {
  first: number;
  last: number;
}

export type Intervals = readonly Interval[];

/** Reads `1,3-5,7`; malformed parts are skipped, indexes ≥ `completions` dropped. */
export function parseIndexes(text: string | undefined, completions: number): Interval[] {
  if (!text) return [];
  const out: Interval[] = [];
  for (const part of text.split(",")) {
    const [a, b, extra] = part.split("-");
    if (extra !== undefined || a === undefined || !/^\d+$/.test(a)) continue;
    const first = Number(a);
    if (first >= completions) break;
    let last = first;
    if (b !== undefined) {
      if (!/^\d+$/.test(b)) continue;
      last = Math.min(Number(b), completions - 1);
    }
    const prev = out[out.length - 1];
    if (prev && prev.last === first - 1) prev.last = last;
    else out.push({ first, last });
  }
  return out;
}

/** The union of two interval lists, merged where they touch. */
export function merge(a: Intervals, b: Intervals): Interval[] {
  const all = [...a, ...b].sort((x, y) => x.first - y.first);
  const out: Interval[] = [];
  for (const iv of all) {
    const prev = out[out.length - 1];
    if (prev && iv.first <= prev.last + 1) prev.last = Math.max(prev.last, iv.last);
    else out.push({ ...iv });
  }
  return out;
}

/** The intervals plus single indexes. */
export function withIndexes(intervals: Intervals, indexes: Iterable<number>): Interval[] {
  return merge(
    intervals,
    [...indexes].map((i) => ({ first: i, last: i })),
  );
}

export function total(intervals: Intervals): number {
  let n = 0;
  for (const iv of intervals) n += iv.last - iv.first + 1;
  return n;
}

export function has(intervals: Intervals, index: number): boolean {
  return intervals.some((iv) => iv.first <= index && index <= iv.last);
}

export function format(intervals: Intervals): string {
  return intervals
    .map((iv) =>
      iv.last === iv.first
        ? `${iv.first}`
        : iv.last === iv.first + 1
          ? `${iv.first},${iv.last}`
          : `${iv.first}-${iv.last}`,
    )
    .join(",");
}

/** The first `count` indexes below `completions` that no interval covers. */
export function firstPending(taken: Intervals, count: number, completions: number): number[] {
  const out: number[] = [];
  let candidate = 0;
  for (const iv of [...taken].sort((x, y) => x.first - y.first)) {
    for (; candidate < completions && out.length < count && candidate < iv.first; candidate++)
      out.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
  return out;
}
