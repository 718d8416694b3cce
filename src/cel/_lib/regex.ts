/**
 * Kubernetes' regex library (`library/regex.go`): `find(re)` and `findAll(re[, n])` on strings.
 * Patterns are RE2 in kube; JavaScript's engine (Unicode mode) agrees on the syntax CRDs use.
 *
 * @module
 */
import { type CelFunc, CelScalar, celMethod, listType } from "@bufbuild/cel";

const cache = new Map<string, RegExp>();
function compile(re: string): RegExp {
  let r = cache.get(re);
  if (!r) {
    try {
      r = new RegExp(re, "gu");
    } catch (e) {
      throw new Error(`error parsing regexp: ${(e as Error).message}`);
    }
    if (cache.size > 1000) cache.clear();
    cache.set(re, r);
  }
  r.lastIndex = 0;
  return r;
}

function findAll(s: string, re: string, n: number): string[] {
  if (n === 0) return [];
  const out: string[] = [];
  for (const m of s.matchAll(compile(re))) {
    out.push(m[0]);
    if (n > 0 && out.length >= n) break;
  }
  return out;
}

export const REGEX: CelFunc[] = [
  celMethod("find", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (re) {
    return compile(re).exec(this)?.[0] ?? "";
  }),
  celMethod(
    "findAll",
    CelScalar.STRING,
    [CelScalar.STRING],
    listType(CelScalar.STRING),
    function (re) {
      return findAll(this, re, -1);
    },
  ),
  celMethod(
    "findAll",
    CelScalar.STRING,
    [CelScalar.STRING, CelScalar.INT],
    listType(CelScalar.STRING),
    function (re, n) {
      return findAll(this, re, Number(n));
    },
  ),
];
