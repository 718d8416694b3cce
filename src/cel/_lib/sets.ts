/**
 * cel-go's sets and base64 encoder extensions, which kube's base environment includes (sets from
 * 1.29): `sets.contains(a, b)`, `sets.equivalent(a, b)`, `sets.intersects(a, b)`,
 * `base64.encode(bytes)`, `base64.decode(string)`.
 *
 * @module
 */
import {
  type CelFunc,
  type CelList,
  CelScalar,
  type CelValue,
  celFunc,
  listType,
} from "@bufbuild/cel";
import { celEquals } from "./compare.ts";

const LIST = listType(CelScalar.DYN);
const eq = celEquals;
const has = (list: CelList, x: CelValue) => [...list].some((y) => eq(x, y));
const contains = (a: CelList, b: CelList) => [...b].every((x) => has(a, x));

export const SETS: CelFunc[] = [
  celFunc("sets.contains", [LIST, LIST], CelScalar.BOOL, contains),
  celFunc(
    "sets.equivalent",
    [LIST, LIST],
    CelScalar.BOOL,
    (a, b) => contains(a, b) && contains(b, a),
  ),
  celFunc("sets.intersects", [LIST, LIST], CelScalar.BOOL, (a, b) => [...a].some((x) => has(b, x))),
  celFunc("base64.encode", [CelScalar.BYTES], CelScalar.STRING, (b) =>
    Buffer.from(b).toString("base64"),
  ),
  celFunc("base64.decode", [CelScalar.STRING], CelScalar.BYTES, (s) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) && !/^[A-Za-z0-9+/]*$/.test(s))
      throw new Error("illegal base64 data");
    return Uint8Array.from(Buffer.from(s, "base64"));
  }),
];
