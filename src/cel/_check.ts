/**
 * A type check and cost estimate of a parsed CEL expression against declared variables, as kube
 * runs cel-go's checker and `EstimateCost` before it accepts a rule: undeclared references,
 * undefined fields of schema objects, operators applied to the wrong types, and the result type
 * are reported with cel-go's wording; the cost is the worst case over the types' sizes (list and
 * map lengths, string lengths) with cel-go's main factors (0.1 per character traversed, 0.25 per
 * regex character, comprehensions multiplying by their range's length, 10/30 to create a
 * list/map). The same walk over the *actual* sizes of a value is the runtime cost.
 *
 * Types the checker cannot know (dyn, int-or-string, results of most functions) pass, as in
 * cel-go; overload checks are made only where both operand types are known.
 *
 * @module
 */
import type { CelFunc, CelType } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { OPT_INDEX, OPT_SELECT } from "./_optsyntax.ts";
import {
  BOOL,
  type DeclType,
  DOUBLE,
  DYN,
  INT,
  listOf,
  mapOf,
  prim,
  STRING,
  typeString,
} from "./_types.ts";

export interface Issue {
  message: string;
  exprId: bigint;
}

export interface Analysis {
  type: DeclType;
  /** Worst-case cost. */
  cost: number;
  issues: Issue[];
  /** Variables the expression references. */
  refs: Set<string>;
}

const STD_BOOL = new Set([
  "_==_",
  "_!=_",
  "_<_",
  "_<=_",
  "_>_",
  "_>=_",
  "_&&_",
  "_||_",
  "!_",
  "@in",
  "@not_strictly_false",
  "not_strictly_false",
  "matches",
  "contains",
  "startsWith",
  "endsWith",
  "bool",
]);
const STD_OTHER = new Set([
  "_+_",
  "_-_",
  "_*_",
  "_/_",
  "_%_",
  "-_",
  "_?_:_",
  "_[_]",
  "size",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "dyn",
  "type",
  "timestamp",
  "duration",
  "getFullYear",
  "getMonth",
  "getDate",
  "getDayOfMonth",
  "getDayOfWeek",
  "getDayOfYear",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getMilliseconds",
]);
const CONVERSIONS: Record<string, DeclType> = {
  int: INT,
  uint: prim("uint"),
  double: DOUBLE,
  string: STRING,
  bytes: prim("bytes", 2, STRING.maxElements),
  bool: BOOL,
  timestamp: prim("timestamp", 22),
  duration: prim("duration", 4),
  type: prim("type"),
  size: INT,
};
const TIME_GETTERS = /^get(FullYear|Month|Date|DayOf\w+|Hours|Minutes|Seconds|Milliseconds)$/;
/** Functions whose cost grows with the length of the string they read. */
const STRING_TRAVERSAL = new Set([
  "contains",
  "startsWith",
  "endsWith",
  "lowerAscii",
  "upperAscii",
  "trim",
  "replace",
  "split",
  "substring",
  "join",
  "charAt",
  "indexOf",
  "lastIndexOf",
  "format",
  "strings.quote",
  "url",
  "isURL",
  "ip",
  "isIP",
  "ip.isCanonical",
  "cidr",
  "isCIDR",
  "quantity",
  "isQuantity",
  "semver",
  "isSemver",
  "string",
  "bytes",
]);
const REGEX_FUNCS = new Set(["matches", "find", "findAll"]);
const LIST_TRAVERSAL = new Set(["isSorted", "sum", "min", "max", "indexOf", "lastIndexOf"]);
const SET_FUNCS = new Set(["sets.contains", "sets.equivalent", "sets.intersects"]);
const NUMERIC = new Set(["int", "uint", "double"]);
const KNOWN_PRIMS = new Set(["int", "uint", "double", "string", "bool", "bytes", "null"]);

const traverse = (n: number) => Math.ceil(0.1 * n);

function fromCelType(t: CelType): DeclType {
  switch (t.kind) {
    case "list":
      return listOf(fromCelType(t.element));
    case "map":
      return mapOf(fromCelType(t.value));
    case "object":
      if (t.name === "google.protobuf.Timestamp") return prim("timestamp", 22);
      if (t.name === "google.protobuf.Duration") return prim("duration", 4);
      if (t.name === "kubernetes.Optional")
        return { name: "optional", elem: DYN, maxElements: 0, minSize: 0 };
      return prim("opaque");
    default:
      return t.name === "dyn"
        ? DYN
        : t.name === "string"
          ? STRING
          : prim(t.name as DeclType["name"]);
  }
}

interface Ctx {
  funcs: Map<string, CelFunc[]>;
  issues: Issue[];
  refs: Set<string>;
}

type Scope = ReadonlyMap<string, DeclType>;

function qualifiedName(e: Expr | undefined): string | undefined {
  if (!e) return undefined;
  if (e.exprKind.case === "identExpr") return e.exprKind.value.name;
  if (e.exprKind.case === "selectExpr" && !e.exprKind.value.testOnly) {
    const q = qualifiedName(e.exprKind.value.operand);
    return q === undefined ? undefined : `${q}.${e.exprKind.value.field}`;
  }
  return undefined;
}

function overloadError(fn: string, args: DeclType[]): string {
  return `found no matching overload for '${fn}' applied to '(${args.map(typeString).join(", ")})'`;
}

function analyzeCall(
  e: Expr,
  call: Extract<Expr["exprKind"], { case: "callExpr" }>["value"],
  scope: Scope,
  ctx: Ctx,
): { type: DeclType; cost: number } {
  let fn = call.function;
  let target = call.target;
  // `optional.of(x)`, `ip.isCanonical(s)`, `strings.quote(s)`: a namespaced global function.
  const ns = qualifiedName(target);
  if (ns !== undefined && !scope.has(ns.split(".")[0] ?? "") && ctx.funcs.has(`${ns}.${fn}`)) {
    fn = `${ns}.${fn}`;
    target = undefined;
  }
  const t = target ? walk(target, scope, ctx) : undefined;
  const args = call.args.map((a) => walk(a, scope, ctx));
  const argTypes = args.map((a) => a.type);
  let cost = (t?.cost ?? 0) + args.reduce((s, a) => s + a.cost, 0);
  const known = STD_BOOL.has(fn) || STD_OTHER.has(fn) || TIME_GETTERS.test(fn) || ctx.funcs.has(fn);
  if (!known) {
    ctx.issues.push({ message: `undeclared reference to '${fn}' (in container '')`, exprId: e.id });
    return { type: DYN, cost };
  }
  const [a, b] = argTypes;
  const sizeOf = (x: DeclType | undefined) => x?.maxElements ?? 0;
  if (fn === "_&&_" || fn === "_||_") return { type: BOOL, cost };
  if (fn === "_?_:_") {
    const [c, x, y] = args;
    const same = x && y && x.type.name === y.type.name;
    return {
      type: same ? (x.type.maxElements >= y.type.maxElements ? x.type : y.type) : DYN,
      cost: (c?.cost ?? 0) + Math.max(x?.cost ?? 0, y?.cost ?? 0),
    };
  }
  if (/^_(==|!=|<|<=|>|>=)_$/.test(fn) && a && b) {
    const ordered = fn !== "_==_" && fn !== "_!=_";
    const na = a.name;
    const nb = b.name;
    if (
      ordered &&
      KNOWN_PRIMS.has(na) &&
      KNOWN_PRIMS.has(nb) &&
      na !== nb &&
      !(NUMERIC.has(na) && NUMERIC.has(nb))
    )
      ctx.issues.push({ message: overloadError(fn, argTypes), exprId: e.id });
    if (na === "string" || na === "bytes" || na === "list")
      cost += traverse(Math.min(sizeOf(a), sizeOf(b)));
    return { type: BOOL, cost: cost + 1 };
  }
  if (/^_[-+*/%]_$/.test(fn) && a && b) {
    const na = a.name;
    const nb = b.name;
    if (KNOWN_PRIMS.has(na) && KNOWN_PRIMS.has(nb) && na !== nb)
      ctx.issues.push({ message: overloadError(fn, argTypes), exprId: e.id });
    if (fn === "_+_" && (na === "string" || na === "bytes"))
      return {
        type: prim(na, 2, sizeOf(a) + sizeOf(b)),
        cost: cost + 1 + traverse(sizeOf(a) + sizeOf(b)),
      };
    if (fn === "_+_" && na === "list")
      return {
        type: listOf(a.elem ?? DYN, sizeOf(a) + sizeOf(b)),
        cost: cost + 1 + traverse(sizeOf(a) + sizeOf(b)),
      };
    if (na === "timestamp" && nb === "timestamp")
      return { type: prim("duration", 4), cost: cost + 1 };
    return { type: na === "dyn" ? b : a, cost: cost + 1 };
  }
  if (fn === OPT_SELECT || fn === OPT_INDEX) {
    // `x.?f` and `x[?i]`: the selection's type, as an optional (on an optional, its value's).
    const operand = a?.name === "optional" ? (a.elem ?? DYN) : a;
    const key = call.args[1]?.exprKind;
    const field =
      fn === OPT_SELECT &&
      key?.case === "constExpr" &&
      key.value.constantKind.case === "stringValue"
        ? key.value.constantKind.value
        : undefined;
    let elem: DeclType = DYN;
    if (operand?.name === "object" && operand.fields && field !== undefined) {
      const f = operand.fields.get(field);
      if (!f) ctx.issues.push({ message: `undefined field '${field}'`, exprId: e.id });
      else elem = f;
    } else if (operand?.name === "map" || operand?.name === "list") elem = operand.elem ?? DYN;
    return { type: { name: "optional", elem, maxElements: 0, minSize: 0 }, cost: cost + 1 };
  }
  if (fn === "_[_]") {
    if (a?.name === "list" || a?.name === "map") return { type: a.elem ?? DYN, cost: cost + 1 };
    return { type: DYN, cost: cost + 1 };
  }
  if (fn === "@in") {
    return { type: BOOL, cost: cost + 1 + (b?.name === "list" ? sizeOf(b) : 0) };
  }
  if (REGEX_FUNCS.has(fn)) {
    const str = t?.type ?? a;
    const re = t ? a : b;
    const reCost = Math.max(1, Math.ceil(0.25 * sizeOf(re)));
    const type = fn === "matches" ? BOOL : fn === "find" ? STRING : listOf(STRING, sizeOf(str));
    return { type, cost: cost + 1 + Math.max(1, traverse(sizeOf(str))) * reCost };
  }
  if (fn === "size") return { type: INT, cost: cost + 1 };
  // Result type: a conversion, a time getter, or the declared result of kube's functions.
  let type: DeclType = DYN;
  if (STD_BOOL.has(fn)) type = BOOL;
  else if (TIME_GETTERS.test(fn)) type = INT;
  else if (CONVERSIONS[fn] && !t) type = CONVERSIONS[fn] as DeclType;
  else {
    const results = new Set((ctx.funcs.get(fn) ?? []).map((f) => f.result.toString()));
    const first = ctx.funcs.get(fn)?.[0];
    if (results.size === 1 && first) type = fromCelType(first.result);
  }
  const subject = t?.type ?? a;
  if (fn === "value" || fn === "orValue")
    type = subject?.name === "optional" ? (subject.elem ?? DYN) : DYN;
  if (fn === "optional.of" || fn === "optional.ofNonZeroValue")
    type = { name: "optional", elem: a ?? DYN, maxElements: 0, minSize: 0 };
  if (["min", "max", "sum"].includes(fn) && subject?.name === "list") type = subject.elem ?? DYN;
  if ((fn === "split" || fn === "findAll") && type.name === "list")
    type = listOf(STRING, sizeOf(subject));
  if (type.name === "string" && subject && (subject.name === "string" || subject.name === "list"))
    type = prim("string", 2, Math.max(sizeOf(subject), 1));
  if (
    STRING_TRAVERSAL.has(fn) &&
    (subject?.name === "string" || subject?.name === "bytes" || subject?.name === "dyn")
  )
    cost += traverse(sizeOf(subject));
  if (LIST_TRAVERSAL.has(fn) && subject?.name === "list") cost += sizeOf(subject);
  if (SET_FUNCS.has(fn)) cost += sizeOf(a) * sizeOf(b);
  return { type, cost: cost + 1 };
}

function walk(e: Expr, scope: Scope, ctx: Ctx): { type: DeclType; cost: number } {
  const k = e.exprKind;
  switch (k.case) {
    case "constExpr": {
      const c = k.value.constantKind;
      switch (c.case) {
        case "boolValue":
          return { type: BOOL, cost: 0 };
        case "int64Value":
          return { type: INT, cost: 0 };
        case "uint64Value":
          return { type: prim("uint"), cost: 0 };
        case "doubleValue":
          return { type: DOUBLE, cost: 0 };
        case "stringValue":
          return { type: prim("string", 2, [...c.value].length), cost: 0 };
        case "bytesValue":
          return { type: prim("bytes", 2, c.value.length), cost: 0 };
        case "nullValue":
          return { type: prim("null"), cost: 0 };
      }
      return { type: DYN, cost: 0 };
    }
    case "identExpr": {
      const t = scope.get(k.value.name);
      if (!t) {
        if (
          CONVERSIONS[k.value.name] ||
          k.value.name === "list" ||
          k.value.name === "map" ||
          k.value.name === "null_type"
        )
          return { type: prim("type"), cost: 0 };
        ctx.issues.push({
          message: `undeclared reference to '${k.value.name}' (in container '')`,
          exprId: e.id,
        });
        return { type: DYN, cost: 1 };
      }
      ctx.refs.add(k.value.name);
      return { type: t, cost: 1 };
    }
    case "selectExpr": {
      const { operand, field, testOnly } = k.value;
      if (!operand) return { type: DYN, cost: 1 };
      const o = walk(operand, scope, ctx);
      const ot = o.type;
      let type: DeclType = DYN;
      if (ot.name === "object" && ot.fields) {
        const f = ot.fields.get(field);
        if (!f) ctx.issues.push({ message: `undefined field '${field}'`, exprId: e.id });
        else type = f;
      } else if (ot.name === "map") type = ot.elem ?? DYN;
      else if (ot.name !== "dyn" && ot.name !== "opaque")
        ctx.issues.push({
          message: `type '${typeString(ot)}' does not support field selection`,
          exprId: e.id,
        });
      return { type: testOnly ? BOOL : type, cost: o.cost + 1 };
    }
    case "callExpr":
      return analyzeCall(e, k.value, scope, ctx);
    case "listExpr": {
      const items = k.value.elements.map((x) => walk(x, scope, ctx));
      const elem =
        items.length && items.every((i) => i.type.name === items[0]?.type.name)
          ? (items[0]?.type ?? DYN)
          : DYN;
      return { type: listOf(elem, items.length), cost: 10 + items.reduce((s, i) => s + i.cost, 0) };
    }
    case "structExpr": {
      let cost = k.value.messageName ? 40 : 30;
      let value: DeclType | undefined;
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === "mapKey") cost += walk(entry.keyKind.value, scope, ctx).cost;
        if (entry.value) {
          const v = walk(entry.value, scope, ctx);
          cost += v.cost;
          value = value && value.name !== v.type.name ? DYN : v.type;
        }
      }
      return {
        type: k.value.messageName ? prim("opaque") : mapOf(value ?? DYN, k.value.entries.length),
        cost,
      };
    }
    case "comprehensionExpr": {
      const c = k.value;
      const range = c.iterRange ? walk(c.iterRange, scope, ctx) : { type: DYN, cost: 0 };
      const init = c.accuInit ? walk(c.accuInit, scope, ctx) : { type: DYN, cost: 0 };
      const n =
        range.type.name === "list" || range.type.name === "map" || range.type.name === "dyn"
          ? range.type.maxElements
          : 0;
      const elem =
        range.type.name === "list"
          ? (range.type.elem ?? DYN)
          : range.type.name === "map"
            ? STRING
            : DYN;
      const inner = new Map(scope);
      inner.set(c.iterVar, elem);
      if (c.iterVar2)
        inner.set(c.iterVar2, range.type.name === "map" ? (range.type.elem ?? DYN) : DYN);
      // `map`/`filter` start from an empty list and append one element per iteration.
      let accu = init.type;
      if (accu.name === "list" && accu.maxElements === 0) accu = listOf(DYN, n);
      inner.set(c.accuVar, accu);
      const seen = ctx.issues.length;
      const step = c.loopStep ? walk(c.loopStep, inner, ctx) : { type: DYN, cost: 0 };
      if (init.type.name === "list" && init.type.maxElements === 0 && step.type.name === "list") {
        ctx.issues.length = seen;
        inner.set(c.accuVar, listOf(step.type.elem ?? DYN, n));
        walk(c.loopStep as Expr, inner, ctx);
      }
      const cond = c.loopCondition ? walk(c.loopCondition, inner, ctx) : { type: BOOL, cost: 0 };
      const result = c.result ? walk(c.result, inner, ctx) : { type: DYN, cost: 0 };
      const resultType =
        result.type.name === "list" && accu.name === "list"
          ? listOf(inner.get(c.accuVar)?.elem ?? DYN, n)
          : result.type;
      return {
        type: resultType,
        cost: range.cost + init.cost + n * (cond.cost + step.cost) + result.cost,
      };
    }
  }
  return { type: DYN, cost: 0 };
}

const BY_NAME = new WeakMap<readonly CelFunc[], Map<string, CelFunc[]>>();

/** Type-checks `expr` against `vars` and estimates its worst-case cost. */
export function analyze(
  expr: Expr,
  vars: ReadonlyMap<string, DeclType>,
  funcs: readonly CelFunc[],
): Analysis {
  let byName = BY_NAME.get(funcs);
  if (!byName) {
    byName = new Map<string, CelFunc[]>();
    for (const f of funcs) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
    BY_NAME.set(funcs, byName);
  }
  const ctx: Ctx = { funcs: byName, issues: [], refs: new Set() };
  const { type, cost } = walk(expr, vars, ctx);
  return { type, cost, issues: ctx.issues, refs: ctx.refs };
}
