/**
 * Kubernetes' list library (`k8s.io/apiserver/pkg/cel/library/lists.go`): `isSorted()`, `sum()`,
 * `min()`, `max()`, `indexOf(x)`, `lastIndexOf(x)` on lists.
 *
 * @module
 */
import {
  type CelFunc,
  type CelList,
  CelScalar,
  type CelValue,
  celMethod,
  celUint,
  isCelUint,
  listType,
} from "@bufbuild/cel";
import { celAdd, celEquals, compareCel } from "./compare.ts";

const LIST = listType(CelScalar.DYN);

function items(list: CelList): CelValue[] {
  return [...list];
}

function extreme(list: CelList, sign: number): CelValue {
  const all = items(list);
  if (all.length === 0) throw new Error(`${sign < 0 ? "min" : "max"}: list is empty`);
  let best = all[0] as CelValue;
  for (const v of all.slice(1)) if (compareCel(v, best) * sign > 0) best = v;
  return best;
}

function sum(list: CelList): CelValue {
  const all = items(list);
  if (all.length === 0) return 0n;
  if (all.every((v) => typeof v === "bigint"))
    return all.reduce((a, b) => (a as bigint) + (b as bigint), 0n);
  if (all.every((v) => typeof v === "number"))
    return all.reduce((a, b) => (a as number) + (b as number), 0);
  if (all.every((v) => isCelUint(v))) {
    const total = all.reduce((a, b) => (a as bigint) + (isCelUint(b) ? b.value : 0n), 0n);
    return celUint(total);
  }
  return all.reduce((a, b) => celAdd(a, b));
}

export const LISTS: CelFunc[] = [
  celMethod("isSorted", LIST, [], CelScalar.BOOL, function () {
    const all = items(this);
    return all.every((v, i) => i === 0 || compareCel(all[i - 1] as CelValue, v) <= 0);
  }),
  celMethod("sum", LIST, [], CelScalar.DYN, function () {
    return sum(this);
  }),
  celMethod("min", LIST, [], CelScalar.DYN, function () {
    return extreme(this, -1);
  }),
  celMethod("max", LIST, [], CelScalar.DYN, function () {
    return extreme(this, 1);
  }),
  celMethod("indexOf", LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    return BigInt(items(this).findIndex((v) => celEquals(v, x)));
  }),
  celMethod("lastIndexOf", LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    return BigInt(items(this).findLastIndex((v) => celEquals(v, x)));
  }),
];
