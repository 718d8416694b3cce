/**
 * CEL's optional values as far as Kubernetes' rules use them without the `?.`/`[?` syntax (the
 * parser of `@bufbuild/cel` 0.6 has none): `optional.of`, `optional.none`,
 * `optional.ofNonZeroValue`, `hasValue()`, `value()`, `orValue(x)`, `or(opt)`. `oldSelf` of a
 * rule with `optionalOldSelf: true` is such a value.
 *
 * @module
 */
import {
  type CelFunc,
  CelScalar,
  type CelValue,
  celFunc,
  celMethod,
  isCelList,
  isCelMap,
} from "@bufbuild/cel";
import { OPTIONAL, optionalOf, optionalValue } from "../_opaque.ts";

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
];
