/**
 * Ordering of CEL values as `<` orders them, for the list library's `min`, `max` and `isSorted`.
 *
 * @module
 */
import {
  type CelResult,
  type CelValue,
  celEnv,
  isCelError,
  isCelUint,
  parse,
  plan,
} from "@bufbuild/cel";

function key(v: CelValue): bigint | number | string | boolean {
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "string") return v;
  if (typeof v === "boolean") return v;
  if (isCelUint(v)) return v.value;
  const m = (v as { message?: { seconds?: bigint; nanos?: number } }).message;
  if (m && typeof m.seconds === "bigint") return m.seconds * 1_000_000_000n + BigInt(m.nanos ?? 0);
  throw new Error("no such overload");
}

/** -1, 0 or 1 as `a` sorts before, with or after `b`; throws `no such overload` otherwise. */
export function compareCel(a: CelValue, b: CelValue): number {
  const x = key(a);
  const y = key(b);
  if (typeof x === "boolean" || typeof y === "boolean") {
    if (typeof x !== typeof y) throw new Error("no such overload");
    return x === y ? 0 : x ? 1 : -1;
  }
  if (typeof x === "string" || typeof y === "string") {
    if (typeof x !== typeof y) throw new Error("no such overload");
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // int/uint/double compare numerically across types, as CEL's heterogeneous ordering does.
  const nx = typeof x === "bigint" && typeof y === "number" ? Number(x) : x;
  const ny = typeof y === "bigint" && typeof x === "number" ? Number(y) : y;
  return nx < ny ? -1 : nx > ny ? 1 : 0;
}

const env = celEnv();
const EQ = plan(env, parse("a == b")) as (b: Record<string, CelValue>) => CelResult;
const ADD = plan(env, parse("a + b")) as (b: Record<string, CelValue>) => CelResult;

/** CEL's `==` (heterogeneous numbers equal by value, lists and maps deeply). */
export function celEquals(a: CelValue, b: CelValue): boolean {
  return EQ({ a, b }) === true;
}

/** CEL's `+`, throwing its error. */
export function celAdd(a: CelValue, b: CelValue): CelValue {
  const r = ADD({ a, b });
  if (isCelError(r)) throw r;
  return r;
}
