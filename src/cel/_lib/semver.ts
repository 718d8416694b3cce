/**
 * Kubernetes' semver library (`library/semverlib.go`, 1.31+): `semver(s)`, `isSemver(s)`,
 * `major()`, `minor()`, `patch()`, `compareTo`, `isGreaterThan`, `isLessThan` (strict
 * `MAJOR.MINOR.PATCH[-pre][+build]`, ordered as semver 2.0 orders pre-releases).
 *
 * @module
 */
import { type CelFunc, CelScalar, celFunc, celMethod } from "@bufbuild/cel";
import { opaque, SEMVER, textOf } from "../_opaque.ts";

const RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function parse(s: string) {
  const m = RE.exec(s);
  if (!m) throw new Error(`No Major.Minor.Patch elements found`);
  return { core: [BigInt(m[1] ?? 0), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0)], pre: m[4] };
}

function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.core[i] ?? 0n) - (y.core[i] ?? 0n);
    if (d !== 0n) return d > 0n ? 1 : -1;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  const xs = x.pre.split(".");
  const ys = y.pre.split(".");
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const p = xs[i];
    const q = ys[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn && BigInt(p) !== BigInt(q)) return BigInt(p) > BigInt(q) ? 1 : -1;
    if (pn !== qn) return pn ? -1 : 1;
    if (p !== q) return p > q ? 1 : -1;
  }
  return 0;
}

export const SEMVERS: CelFunc[] = [
  celFunc("semver", [CelScalar.STRING], SEMVER, (s) => {
    parse(s);
    return opaque(SEMVER, s);
  }),
  celFunc("isSemver", [CelScalar.STRING], CelScalar.BOOL, (s) => RE.test(s)),
  celMethod("major", SEMVER, [], CelScalar.INT, function () {
    return parse(textOf(this)).core[0] ?? 0n;
  }),
  celMethod("minor", SEMVER, [], CelScalar.INT, function () {
    return parse(textOf(this)).core[1] ?? 0n;
  }),
  celMethod("patch", SEMVER, [], CelScalar.INT, function () {
    return parse(textOf(this)).core[2] ?? 0n;
  }),
  celMethod("compareTo", SEMVER, [SEMVER], CelScalar.INT, function (o) {
    return BigInt(compare(textOf(this), textOf(o)));
  }),
  celMethod("isGreaterThan", SEMVER, [SEMVER], CelScalar.BOOL, function (o) {
    return compare(textOf(this), textOf(o)) > 0;
  }),
  celMethod("isLessThan", SEMVER, [SEMVER], CelScalar.BOOL, function (o) {
    return compare(textOf(this), textOf(o)) < 0;
  }),
];
