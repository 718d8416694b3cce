/**
 * Kubernetes' quantity library (`library/quantity.go`): `quantity(s)`, `isQuantity(s)`, `sign()`,
 * `isInteger()`, `asInteger()`, `asApproximateFloat()`, `add`, `sub` (quantity or int),
 * `compareTo`, `isGreaterThan`, `isLessThan`.
 *
 * @module
 */
import { type CelFunc, CelScalar, celFunc, celMethod } from "@bufbuild/cel";
import {
  addQuantity,
  compareQuantity,
  formatQuantity,
  isQuantity as parses,
  type Quantity,
  quantity,
  subtractQuantity,
} from "../../api/quantity.ts";
import { opaque, QUANTITY, textOf } from "../_opaque.ts";

const NANO = 1_000_000_000n;
const MAX_INT64 = 2n ** 63n - 1n;
const q = (v: unknown): Quantity => quantity(textOf(v));
const wrap = (x: Quantity) => opaque(QUANTITY, formatQuantity(x));
const ofInt = (n: bigint): Quantity => ({ nanos: n * NANO, format: "DecimalSI" });

export const QUANTITIES: CelFunc[] = [
  celFunc("quantity", [CelScalar.STRING], QUANTITY, (s) => {
    try {
      return wrap(quantity(s));
    } catch (e) {
      throw new Error(
        `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
        { cause: e },
      );
    }
  }),
  celFunc("isQuantity", [CelScalar.STRING], CelScalar.BOOL, (s) => parses(s)),
  celMethod("sign", QUANTITY, [], CelScalar.INT, function () {
    const n = q(this).nanos;
    return n > 0n ? 1n : n < 0n ? -1n : 0n;
  }),
  celMethod("isInteger", QUANTITY, [], CelScalar.BOOL, function () {
    const n = q(this).nanos;
    return n % NANO === 0n && n / NANO <= MAX_INT64 && n / NANO >= -MAX_INT64 - 1n;
  }),
  celMethod("asInteger", QUANTITY, [], CelScalar.INT, function () {
    const n = q(this).nanos;
    if (n % NANO !== 0n || n / NANO > MAX_INT64 || n / NANO < -MAX_INT64 - 1n)
      throw new Error("cannot convert value to integer");
    return n / NANO;
  }),
  celMethod("asApproximateFloat", QUANTITY, [], CelScalar.DOUBLE, function () {
    return Number(q(this).nanos) / 1e9;
  }),
  celMethod("add", QUANTITY, [QUANTITY], QUANTITY, function (o) {
    return wrap(addQuantity(q(this), q(o)));
  }),
  celMethod("add", QUANTITY, [CelScalar.INT], QUANTITY, function (n) {
    return wrap(addQuantity(q(this), ofInt(n)));
  }),
  celMethod("sub", QUANTITY, [QUANTITY], QUANTITY, function (o) {
    return wrap(subtractQuantity(q(this), q(o)));
  }),
  celMethod("sub", QUANTITY, [CelScalar.INT], QUANTITY, function (n) {
    return wrap(subtractQuantity(q(this), ofInt(n)));
  }),
  celMethod("compareTo", QUANTITY, [QUANTITY], CelScalar.INT, function (o) {
    return BigInt(compareQuantity(q(this), q(o)));
  }),
  celMethod("isGreaterThan", QUANTITY, [QUANTITY], CelScalar.BOOL, function (o) {
    return compareQuantity(q(this), q(o)) > 0;
  }),
  celMethod("isLessThan", QUANTITY, [QUANTITY], CelScalar.BOOL, function (o) {
    return compareQuantity(q(this), q(o)) < 0;
  }),
];
