/**
 * CEL's optional syntax (cel-go's `OptionalTypes`, in kube's environment since 1.28) on a parser
 * that has none: `@bufbuild/cel` 0.6's grammar knows neither `x.?f`, `x[?i]`, `[?e]` nor
 * `{?k: v}`. Rather than fork the grammar, the source is rewritten before parsing into ordinary
 * syntax carrying markers, and the parsed tree is then turned back into what cel-go's parser
 * produces for the optional forms:
 * - `x.?f` → `x.__opt__f` → `@optselect(x, "f")` (cel-go's `_?._`);
 * - `x[?i]` → `x[__opt_index__(i)]` → `@optindex(x, i)` (cel-go's `_[?_]`);
 * - `[a, ?b]` → `[a, __opt_elem__(b)]` → `@optlist([a, b], [false, true])`;
 * - `{?k: v}` → `{__opt_key__(k): v}` → `@optmap({k: v}, [k])`.
 * A selection or index on such a result (`x.?a.b`, `x.?a[0]`, `optional.of(m).c`) stays
 * optional, as in cel-go, and `has(x.?a.b)` tests presence through it. `optMap(v, e)` and `optFlatMap(v, e)` expand as
 * cel-go's macros do. The rewrite only touches `?` where standard CEL has no meaning for it
 * (after `.`, or where a list element or map key starts), outside string literals and comments,
 * so an expression without optional syntax parses exactly as before. The calls are named with
 * `@`, which no source can spell, and not `_?._`/`_[?_]`, which the library's planner takes over
 * with an unfinished optional access that yields bare values. Positions in the tree are
 * mapped back to the original source (`toSource`), so messages point where the user wrote.
 *
 * Not covered: optional fields of message literals (`Msg{?f: v}`; kube has no message types),
 * and selections on optional values the tree does not show as such (a variable holding one,
 * `optionalOldSelf`'s `oldSelf.c`), which cel-go resolves from types.
 *
 * @module
 */
import { parse } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";

const SELECT = "__opt__";
const INDEX = "__opt_index__";
const ELEM = "__opt_elem__";
const KEY = "__opt_key__";

export const OPT_SELECT = "@optselect";
export const OPT_INDEX = "@optindex";
export const OPT_LIST = "@optlist";
export const OPT_MAP = "@optmap";

export interface Rewritten {
  text: string;
  /** Whether any optional syntax was found (else `text` is the source). */
  changed: boolean;
  /** An offset in `text` → the offset in the source it came from. */
  toSource(offset: number): number;
}

interface Frame {
  closer: string;
  kind: "paren" | "index" | "optindex" | "list" | "map" | "struct";
  /** An optional list element or map key is open (closed with `)` at `,`, `]` or `:`). */
  open: boolean;
  /** Ternaries inside an open optional map key (their `:` is not the key's). */
  ternaries: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;
const OPERATORS_WORDS = new Set(["in"]);

/** Rewrites the optional syntax of `source` into marked ordinary syntax (see the header). */
export function rewriteOptionalSyntax(source: string): Rewritten {
  let out = "";
  // Anchors: where in `out` a run starts, where it came from, and whether it was inserted.
  const anchors: Array<{ out: number; src: number; inserted: boolean }> = [];
  let changed = false;
  const copy = (from: number, to: number) => {
    if (to <= from) return;
    anchors.push({ out: out.length, src: from, inserted: false });
    out += source.slice(from, to);
  };
  const insert = (text: string, at: number) => {
    changed = true;
    anchors.push({ out: out.length, src: at, inserted: true });
    out += text;
  };
  const stack: Frame[] = [];
  /** The last significant token ended an operand (so `[` indexes and `{` starts a struct). */
  let afterOperand = false;
  /** The last significant token was an identifier (so `{` starts a message literal). */
  let afterIdent = false;
  /** A list element or map key may start here (after `[`, `{` or `,` directly inside one). */
  let elementStart = false;
  let i = 0;
  const n = source.length;
  const nextSignificant = (from: number) => {
    let j = from;
    while (j < n && /\s/.test(source[j] ?? "")) j++;
    return j;
  };
  while (i < n) {
    const c = source[i] ?? "";
    if (/\s/.test(c)) {
      copy(i, i + 1);
      i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      copy(i, stop);
      i = stop;
      continue;
    }
    // String and bytes literals, with r/b prefixes and triple quotes.
    const lit = /^([rRbB]{0,2})('''|"""|'|")/.exec(source.slice(i, i + 5));
    if (lit && (lit[1] === "" || !IDENT.test(source[i - 1] ?? ""))) {
      const raw = /r/i.test(lit[1] ?? "");
      const quote = lit[2] ?? "'";
      let j = i + (lit[1]?.length ?? 0) + quote.length;
      while (j < n && !source.startsWith(quote, j)) {
        if (!raw && source[j] === "\\") j++;
        j++;
      }
      j = Math.min(n, j + quote.length);
      copy(i, j);
      i = j;
      afterOperand = true;
      afterIdent = false;
      elementStart = false;
      continue;
    }
    if (IDENT_START.test(c) || /[0-9]/.test(c)) {
      let j = i + 1;
      // Numbers: digits, hex, exponent, `u` suffix and a fraction part.
      if (/[0-9]/.test(c)) {
        while (j < n && /[0-9A-Za-z_.]/.test(source[j] ?? "")) {
          if (source[j] === "." && !/[0-9]/.test(source[j + 1] ?? "")) break;
          if (/[eE]/.test(source[j] ?? "") && /[-+]/.test(source[j + 1] ?? "")) j++;
          j++;
        }
      } else while (j < n && IDENT.test(source[j] ?? "")) j++;
      const word = source.slice(i, j);
      copy(i, j);
      i = j;
      afterOperand = !OPERATORS_WORDS.has(word);
      afterIdent = IDENT_START.test(c) && afterOperand;
      elementStart = false;
      continue;
    }
    if (c === "`") {
      const end = source.indexOf("`", i + 1);
      const stop = end < 0 ? n : end + 1;
      copy(i, stop);
      i = stop;
      afterOperand = true;
      afterIdent = false;
      elementStart = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === "." && source[i + 1] === "?") {
      copy(i, i + 1);
      insert(SELECT, i + 1);
      i += 2;
      afterOperand = false;
      afterIdent = false;
      elementStart = false;
      continue;
    }
    if (c === "?") {
      if (elementStart && top && (top.kind === "list" || top.kind === "map")) {
        insert(top.kind === "list" ? `${ELEM}(` : `${KEY}(`, i);
        top.open = true;
        i++;
        elementStart = false;
        continue;
      }
      if (top?.kind === "map" && top.open) top.ternaries++;
      copy(i, i + 1);
      i++;
      afterOperand = false;
      afterIdent = false;
      elementStart = false;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") {
      let kind: Frame["kind"];
      if (c === "(") kind = "paren";
      else if (c === "[") kind = afterOperand ? "index" : "list";
      else kind = afterIdent ? "struct" : "map";
      copy(i, i + 1);
      i++;
      if (kind === "index" && source[nextSignificant(i)] === "?") {
        const q = nextSignificant(i);
        copy(i, q);
        insert(`${INDEX}(`, q);
        i = q + 1;
        kind = "optindex";
      }
      stack.push({
        closer: c === "(" ? ")" : c === "[" ? "]" : "}",
        kind,
        open: false,
        ternaries: 0,
      });
      afterOperand = false;
      afterIdent = false;
      elementStart = kind === "list" || kind === "map";
      continue;
    }
    if (c === ")" || c === "]" || c === "}") {
      if (top && top.closer === c) {
        if (top.kind === "optindex" || top.open) insert(")", i);
        stack.pop();
      }
      copy(i, i + 1);
      i++;
      afterOperand = true;
      afterIdent = false;
      elementStart = false;
      continue;
    }
    if (c === ",") {
      if (top?.open) {
        insert(")", i);
        top.open = false;
        top.ternaries = 0;
      }
      copy(i, i + 1);
      i++;
      afterOperand = false;
      afterIdent = false;
      elementStart = top?.kind === "list" || top?.kind === "map";
      continue;
    }
    if (c === ":" && top?.kind === "map" && top.open) {
      if (top.ternaries > 0) top.ternaries--;
      else {
        insert(")", i);
        top.open = false;
      }
    }
    copy(i, i + 1);
    i++;
    afterOperand = false;
    afterIdent = false;
    elementStart = false;
  }
  if (!changed) return { text: source, changed, toSource: (o) => o };
  return {
    text: out,
    changed,
    toSource(offset) {
      let lo = 0;
      let hi = anchors.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((anchors[mid]?.out ?? 0) <= offset) lo = mid;
        else hi = mid - 1;
      }
      const a = anchors[lo];
      if (!a) return offset;
      return a.inserted ? a.src : a.src + (offset - a.out);
    },
  };
}

type Kind = Expr["exprKind"];

/** Turns the markers of `rewriteOptionalSyntax` in a parsed tree into optional calls, in place. */
export function desugarOptionals(
  root: Expr,
  positions: Record<string, number>,
  toSource: (offset: number) => number,
): void {
  let nextId = 0n;
  for (const id of Object.keys(positions)) {
    const v = BigInt(id);
    if (v > nextId) nextId = v;
    positions[id] = toSource(positions[id] ?? 0);
  }
  const make = (at: Expr, exprKind: Kind): Expr => {
    nextId++;
    positions[nextId.toString()] = positions[at.id.toString()] ?? 0;
    return { $typeName: "cel.expr.Expr", id: nextId, exprKind } as Expr;
  };
  const call = (fn: string, args: Expr[], target?: Expr): Kind =>
    ({
      case: "callExpr",
      value: { $typeName: "cel.expr.Expr.Call", function: fn, args, ...(target ? { target } : {}) },
    }) as Kind;
  const str = (at: Expr, s: string) =>
    make(at, {
      case: "constExpr",
      value: { $typeName: "cel.expr.Constant", constantKind: { case: "stringValue", value: s } },
    } as Kind);
  const bool = (at: Expr, b: boolean) =>
    make(at, {
      case: "constExpr",
      value: { $typeName: "cel.expr.Constant", constantKind: { case: "boolValue", value: b } },
    } as Kind);
  const list = (at: Expr, elements: Expr[]) =>
    make(at, {
      case: "listExpr",
      value: { $typeName: "cel.expr.Expr.CreateList", elements, optionalIndices: [] },
    } as Kind);
  const ident = (at: Expr, name: string) =>
    make(at, { case: "identExpr", value: { $typeName: "cel.expr.Expr.Ident", name } } as Kind);
  /** `cel.bind(name, init, body)` as cel-go expands it: a comprehension over nothing. */
  const bind = (at: Expr, name: string, init: Expr, body: Expr) =>
    make(at, {
      case: "comprehensionExpr",
      value: {
        $typeName: "cel.expr.Expr.Comprehension",
        iterVar: "#unused",
        iterVar2: "",
        iterRange: list(at, []),
        accuVar: name,
        accuInit: init,
        loopCondition: bool(at, false),
        loopStep: ident(at, name),
        result: body,
      },
    } as Kind);
  /**
   * Calls whose result is optional, so selections on them are optional too: the optional
   * syntax's, `optional.of/ofNonZeroValue/none(…)`, and `or` on one of those.
   */
  const isOptional = (e: Expr | undefined): boolean => {
    if (e?.exprKind.case !== "callExpr") return false;
    const { function: fn, target } = e.exprKind.value;
    if (fn === OPT_SELECT || fn === OPT_INDEX) return true;
    if (target?.exprKind.case === "identExpr" && target.exprKind.value.name === "optional")
      return fn === "of" || fn === "ofNonZeroValue" || fn === "none";
    return fn === "or" && isOptional(target);
  };
  const marker = (e: Expr | undefined, name: string): Expr | undefined =>
    e?.exprKind.case === "callExpr" &&
    e.exprKind.value.function === name &&
    !e.exprKind.value.target &&
    e.exprKind.value.args.length === 1
      ? e.exprKind.value.args[0]
      : undefined;

  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case "selectExpr": {
        const s = k.value;
        visit(s.operand);
        if (!s.operand) return;
        const optional = s.field.startsWith(SELECT);
        const field = optional ? s.field.slice(SELECT.length) : s.field;
        if (!optional && !isOptional(s.operand)) return;
        if (s.testOnly) {
          // has(x.?a.b): whether the optional chain holds a value.
          const inner = make(e, call(OPT_SELECT, [s.operand, str(e, field)]));
          e.exprKind = call("hasValue", [], inner);
        } else e.exprKind = call(OPT_SELECT, [s.operand, str(e, field)]);
        return;
      }
      case "callExpr": {
        const c = k.value;
        visit(c.target);
        for (const a of c.args) visit(a);
        if (c.function === "_[_]" && c.args.length === 2) {
          const [operand, index] = c.args as [Expr, Expr];
          const inner = marker(index, INDEX);
          if (inner) e.exprKind = call(OPT_INDEX, [operand, inner]);
          else if (isOptional(operand)) e.exprKind = call(OPT_INDEX, [operand, index]);
          return;
        }
        const [v, body] = c.args;
        if (
          (c.function === "optMap" || c.function === "optFlatMap") &&
          c.target &&
          c.args.length === 2 &&
          v?.exprKind.case === "identExpr" &&
          body
        ) {
          // cel-go: t.hasValue() ? optional.of(bind(v, t.value(), body)) : optional.none()
          const target = c.target;
          const value = make(e, call("value", [], target));
          let then = bind(e, v.exprKind.value.name, value, body);
          if (c.function === "optMap") then = make(e, call("of", [then], ident(e, "optional")));
          const none = make(e, call("none", [], ident(e, "optional")));
          const has = make(e, call("hasValue", [], target));
          e.exprKind = call("_?_:_", [has, then, none]);
        }
        return;
      }
      case "listExpr": {
        const l = k.value;
        for (const x of l.elements) visit(x);
        const flags = l.elements.map((x) => marker(x, ELEM) !== undefined);
        if (!flags.includes(true)) return;
        const elements = l.elements.map((x) => marker(x, ELEM) ?? x);
        e.exprKind = call(OPT_LIST, [
          list(e, elements),
          list(
            e,
            flags.map((f) => bool(e, f)),
          ),
        ]);
        return;
      }
      case "structExpr": {
        const s = k.value;
        const optionalKeys: Expr[] = [];
        for (const entry of s.entries) {
          if (entry.keyKind.case === "mapKey") {
            visit(entry.keyKind.value);
            const inner = marker(entry.keyKind.value, KEY);
            if (inner) {
              entry.keyKind = { case: "mapKey", value: inner };
              optionalKeys.push(inner);
            }
          }
          visit(entry.value);
        }
        if (optionalKeys.length === 0 || s.messageName) return;
        const map = make(e, { case: "structExpr", value: s } as Kind);
        e.exprKind = call(OPT_MAP, [map, list(e, optionalKeys)]);
        return;
      }
      case "comprehensionExpr": {
        const c = k.value;
        visit(c.iterRange);
        visit(c.accuInit);
        visit(c.loopCondition);
        visit(c.loopStep);
        visit(c.result);
        return;
      }
      default:
        return;
    }
  };
  visit(root);
}

/**
 * `@bufbuild/cel`'s `parse` with the optional syntax: rewrite, parse, desugar. A syntax error's
 * `location` offsets point into the original source.
 */
export function parseCel(source: string): ReturnType<typeof parse> {
  const r = rewriteOptionalSyntax(source);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(r.text);
  } catch (e) {
    if (r.changed) {
      const cause = ((e as { cause?: unknown }).cause ?? e) as {
        location?: { start?: { offset?: number } };
      };
      const start = cause.location?.start;
      if (start?.offset !== undefined) start.offset = r.toSource(start.offset);
    }
    throw e;
  }
  // Always: `optMap`/`optFlatMap` are macros with or without the syntax.
  if (parsed.expr) desugarOptionals(parsed.expr, parsed.sourceInfo?.positions ?? {}, r.toSource);
  return parsed;
}
