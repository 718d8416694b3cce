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

// ---- exact quantities, as apimachinery's resource.Quantity ----
//
// Quota and LimitRange messages print sums and limits the way kube does (`requests.cpu=1500m`,
// `memory=1536Mi`), so their arithmetic is exact: a quantity is a whole number of nano-units
// (kube keeps at most nine decimals and rounds finer values up) and the format of the text it
// came from, which decides how it prints (`DecimalSI` 1k, `BinarySI` 1Ki, `DecimalExponent` 1e3).

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** A resource quantity: `nanos` × 10⁻⁹ units, printed canonically in `format`. */
export interface Quantity {
  nanos: bigint;
  format: QuantityFormat;
}

const NANO = 1_000_000_000n;
const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_POWER: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_SUFFIX = new Map(Object.entries(DECIMAL_EXPONENT).map(([s, e]) => [e, s]));
const BINARY_SUFFIX = new Map(Object.entries(BINARY_POWER).map(([s, p]) => [p, s]));

/** Divides rounding away from zero, as kube rounds a quantity finer than a nano-unit. */
function divideUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  if (q * d === n) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/**
 * Parses a quantity as `resource.ParseQuantity` does (`^[+-]?[0-9.]+` then a suffix: `m`, `k`,
 * `Mi`, `e3`, …); throws for text kube refuses.
 */
export function quantity(text: string | number): Quantity {
  const raw = typeof text === "number" ? String(text) : text;
  const m = /^([+-]?)([0-9]*\.?[0-9]*)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    raw,
  );
  const digits = m?.[2] ?? "";
  if (!m || digits === "" || digits === ".")
    throw new Error(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  const [whole = "", fraction = ""] = digits.split(".");
  let value = BigInt(`${whole}${fraction}` || "0");
  let exponent = -fraction.length;
  let format: QuantityFormat = "DecimalSI";
  let binaryPower = 0;
  if (m[3]) {
    format = "DecimalExponent";
    exponent += Number(m[3].slice(1));
  } else if (m[4] && m[4] in BINARY_POWER) {
    format = "BinarySI";
    binaryPower = BINARY_POWER[m[4]] ?? 0;
  } else {
    exponent += DECIMAL_EXPONENT[m[4] ?? ""] ?? 0;
  }
  value *= 1024n ** BigInt(binaryPower);
  // value × 10^exponent, in nanos.
  const shift = exponent + 9;
  const nanos = shift >= 0 ? value * 10n ** BigInt(shift) : divideUp(value, 10n ** BigInt(-shift));
  return { nanos: m[1] === "-" ? -nanos : nanos, format };
}

/** Whether `text` parses as a quantity. */
export function isQuantity(text: unknown): boolean {
  if (typeof text !== "string" && typeof text !== "number") return false;
  try {
    quantity(text);
    return true;
  } catch {
    return false;
  }
}

/** The canonical text of a quantity, as `Quantity.String()` prints it. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return "0";
  const sign = q.nanos < 0n ? "-" : "";
  const abs = q.nanos < 0n ? -q.nanos : q.nanos;
  if (q.format === "BinarySI" && abs >= 1024n * NANO && abs % NANO === 0n) {
    let mantissa = abs / NANO;
    let power = 0;
    while (power < 6 && mantissa % 1024n === 0n) {
      mantissa /= 1024n;
      power++;
    }
    return `${sign}${mantissa}${BINARY_SUFFIX.get(power) ?? ""}`;
  }
  let mantissa = abs;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const rest = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(rest);
  exponent -= rest;
  if (q.format === "DecimalExponent")
    return `${sign}${mantissa}${exponent === 0 ? "" : `e${exponent}`}`;
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  return `${sign}${mantissa}${DECIMAL_SUFFIX.get(exponent) ?? ""}`;
}

/** The canonical text of a quantity given as text (`"1000m"` → `"1"`). */
export function canonicalQuantity(text: string | number): string {
  return formatQuantity(quantity(text));
}

/** a + b, in a's format (b's when a is zero), as `Quantity.Add`. */
export function addQuantity(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** a − b, in a's format. */
export function subtractQuantity(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos - b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function compareQuantity(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** The whole units of a quantity, rounded up (`Quantity.Value()`). */
export function quantityValue(q: Quantity): bigint {
  return divideUp(q.nanos, NANO);
}

/** The zero quantity kube's quota code starts its sums from. */
export const ZERO_QUANTITY: Quantity = { nanos: 0n, format: "DecimalSI" };
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
