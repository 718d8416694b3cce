/**
 * Resource quantities (`500m`, `128Mi`, `1e3`) as numbers, enough for the downward API's
 * resourceFieldRef, the node's capacity and the scheduler's resource fit.
 *
 * @module
 */

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  const mult = m ? SUFFIX[m[2] ?? ""] : undefined;
  if (!m || mult === undefined) throw new Error(`invalid quantity ${JSON.stringify(q)}`);
  return Number(m[1]) * mult;
}

/**
 * `Quantity.MilliValue()`: the value in thousandths, rounded up as apimachinery's `ScaledValue`
 * rounds (`1.0001m` → 2); float noise (`0.1` × 1000) is not mistaken for a fraction.
 */
export function milliValue(q: string | number): number {
  const v = parseQuantity(q) * 1000;
  const r = Math.round(v);
  return Math.abs(v - r) < 1e-6 ? r : Math.ceil(v);
}

const DECIMAL_SUFFIXES = ["m", "", "k", "M", "G", "T", "P", "E"];

/**
 * `resource.NewMilliQuantity(milli, DecimalSI).String()`: the integer with the largest decimal
 * suffix that keeps it whole (`1500` → `1500m`, `2000` → `2`, `3000000` → `3k`).
 */
export function formatMilliQuantity(milli: number): string {
  let v = Math.round(milli);
  if (v === 0) return "0";
  let i = 0;
  while (v % 1000 === 0 && i < DECIMAL_SUFFIXES.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v}${DECIMAL_SUFFIXES[i]}`;
}
