/**
 * CEL's optional values: `optional.of`, `optional.none`, `optional.ofNonZeroValue`,
 * `hasValue()`, `value()`, `orValue(x)`, `or(opt)`, and the calls the optional syntax becomes
 * (`@optselect` for `x.?f`, `@optindex` for `x[?i]`, `@optlist` and `@optmap` for optional list elements
 * and map entries; see `../_optsyntax.ts`). `oldSelf` of a rule with `optionalOldSelf: true` is
 * such a value.
 *
 * @module
 */
import {
  type CelFunc,
  CelScalar,
  type CelValue,
  celFunc,
  celList,
  celMap,
  celMethod,
  isCelList,
  isCelMap,
  isCelUint,
  listType,
} from "@bufbuild/cel";
import { OPTIONAL, optionalOf, optionalValue } from "../_opaque.ts";
import { OPT_INDEX, OPT_LIST, OPT_MAP, OPT_SELECT } from "../_optsyntax.ts";

const LIST = listType(CelScalar.DYN);

/** The value an optional holds, or the value itself; undefined for none. */
function unwrap(v: CelValue): CelValue | undefined {
  const isOptional = (v as { message?: { $typeName?: string } }).message?.$typeName?.endsWith(
    "Optional",
  );
  return isOptional ? optionalValue(v) : v;
}

/** `x.?f`: the field or map entry when present, else none (none stays none). */
function selectOptional(operand: CelValue, field: string) {
  const v = unwrap(operand);
  if (v === undefined) return optionalOf(undefined);
  if (isCelMap(v)) return optionalOf(v.get(field));
  throw new Error(`type '${typeof v}' does not support field selection`);
}

/** `x[?i]`: the list element or map entry when present, else none. */
function indexOptional(operand: CelValue, index: CelValue) {
  const v = unwrap(operand);
  if (v === undefined) return optionalOf(undefined);
  if (isCelList(v)) {
    const i =
      typeof index === "bigint"
        ? Number(index)
        : isCelUint(index)
          ? Number(index.value)
          : typeof index === "number" && Number.isInteger(index)
            ? index
            : Number.NaN;
    if (Number.isNaN(i)) throw new Error("no such overload");
    return optionalOf(i >= 0 && i < v.size ? v.get(i) : undefined);
  }
  if (isCelMap(v)) return optionalOf(v.get(index as never));
  throw new Error("no such overload");
}

function isZero(v: CelValue): boolean {
  if (v === null || v === false || v === 0n || v === 0 || v === "") return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (isCelList(v) || isCelMap(v)) return v.size === 0;
  return false;
}

export const OPTIONALS: CelFunc[] = [
  celFunc("optional.of", [CelScalar.DYN], OPTIONAL, (v) => optionalOf(v)),
  celFunc("optional.none", [], OPTIONAL, () => optionalOf(undefined)),
  celFunc("optional.ofNonZeroValue", [CelScalar.DYN], OPTIONAL, (v) =>
    optionalOf(isZero(v) ? undefined : v),
  ),
  celMethod("hasValue", OPTIONAL, [], CelScalar.BOOL, function () {
    return optionalValue(this) !== undefined;
  }),
  celMethod("value", OPTIONAL, [], CelScalar.DYN, function () {
    const v = optionalValue(this);
    if (v === undefined) throw new Error("optional.none() dereference");
    return v;
  }),
  celMethod("orValue", OPTIONAL, [CelScalar.DYN], CelScalar.DYN, function (x) {
    return optionalValue(this) ?? x;
  }),
  celMethod("or", OPTIONAL, [OPTIONAL], OPTIONAL, function (o) {
    return optionalValue(this) !== undefined ? this : o;
  }),
  celFunc(OPT_SELECT, [CelScalar.DYN, CelScalar.STRING], OPTIONAL, (x, f) =>
    selectOptional(x, f as string),
  ),
  celFunc(OPT_INDEX, [CelScalar.DYN, CelScalar.DYN], OPTIONAL, (x, i) => indexOptional(x, i)),
  celFunc(OPT_LIST, [LIST, LIST], LIST, (items, flags) => {
    const out: CelValue[] = [];
    const marks = [...(flags as Iterable<CelValue>)];
    let i = 0;
    for (const item of items as Iterable<CelValue>) {
      if (marks[i++] !== true) out.push(item);
      else {
        const v = optionalValue(item);
        if (v !== undefined) out.push(v);
      }
    }
    return celList(out);
  }),
  celFunc(OPT_MAP, [CelScalar.DYN, LIST], CelScalar.DYN, (m, keys) => {
    if (!isCelMap(m)) throw new Error("no such overload");
    const optional = new Set([...(keys as Iterable<CelValue>)]);
    const out = new Map<bigint | string | boolean, CelValue>();
    for (const [k, v] of m) {
      if (!optional.has(k as CelValue)) out.set(k as never, v);
      else {
        const inner = optionalValue(v);
        if (inner !== undefined) out.set(k as never, inner);
      }
    }
    return celMap(out as never);
  }),
];
