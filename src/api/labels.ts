/**
 * Label selectors, as apimachinery's `labels.Parse` and `metav1.LabelSelectorAsSelector` define
 * them. A selector compiles to a {@link LabelSelector}: an AND of requirements sorted by key.
 *
 * Semantics copied from apimachinery:
 * - the empty string and the empty `LabelSelector` object (`{}`) match everything;
 * - a null/undefined `LabelSelector` object matches nothing (`labels.Nothing()`), which is how a
 *   nil `spec.selector` behaves for controllers; the empty string passed as `?labelSelector=`
 *   still matches everything;
 * - `k!=v` and `k notin (…)` match objects that lack `k`;
 * - `k>n` / `k<n` compare integers; a missing or non-integer label never matches.
 * Parse errors are 400 BadRequest with apimachinery's wording (`unable to parse requirement: …`,
 * `found '…', expected: …`).
 *
 * @module
 */
import type { LabelSelector as LabelSelectorSpec } from "kubernetes-types/meta/v1.js";
import {
  badRequest,
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldRequired,
} from "./errors.ts";
import { isQualifiedName, isValidLabelValue } from "./validation.ts";

export type { LabelSelectorSpec };

export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated; one value for `=`, `==`, `!=`, `gt`, `lt`; none for `exists`, `!`. */
  values: string[];
}

/** A compiled selector. `nothing` is apimachinery's `labels.Nothing()`. */
export interface LabelSelector {
  requirements: LabelRequirement[];
  nothing?: true;
}

export const EVERYTHING: LabelSelector = Object.freeze({ requirements: [] }) as LabelSelector;
export const NOTHING: LabelSelector = Object.freeze({
  requirements: [],
  nothing: true,
}) as LabelSelector;

// ---- lexer ----------------------------------------------------------------------------------

type Tok =
  | "id"
  | "end"
  | "("
  | ")"
  | ","
  | "!"
  | "="
  | "=="
  | "!="
  | "in"
  | "notin"
  | ">"
  | "<"
  | "error";

interface Token {
  tok: Tok;
  lit: string;
}

const SYMBOLS = new Map<string, Tok>([
  ["(", "("],
  [")", ")"],
  [",", ","],
  ["!", "!"],
  ["=", "="],
  ["==", "=="],
  ["!=", "!="],
  [">", ">"],
  ["<", "<"],
]);
/** What Go's strconv.ParseInt(v, 10, 64) accepts (range aside). */
const INTEGER = /^[+-]?\d+$/;
const SPECIAL = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const WHITESPACE = new Set([" ", "\t", "\r", "\n"]);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && WHITESPACE.has(s[pos]!)) pos++;
    if (pos >= s.length) {
      out.push({ tok: "end", lit: "" });
      return out;
    }
    if (SPECIAL.has(s[pos]!)) {
      // Longest operator made of special symbols, as the Go lexer scans it.
      let buf = "";
      let last: Token | undefined;
      while (pos < s.length && SPECIAL.has(s[pos]!)) {
        const next = buf + s[pos];
        const t = SYMBOLS.get(next);
        if (t) {
          last = { tok: t, lit: next };
          buf = next;
          pos++;
        } else if (last) {
          break;
        } else {
          buf = next;
          pos++;
        }
      }
      out.push(last ?? { tok: "error", lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let id = "";
    while (pos < s.length && !SPECIAL.has(s[pos]!) && !WHITESPACE.has(s[pos]!)) id += s[pos++];
    out.push({ tok: id === "in" ? "in" : id === "notin" ? "notin" : "id", lit: id });
  }
}

// ---- parser ---------------------------------------------------------------------------------

class Parser {
  private pos = 0;
  constructor(private readonly items: Token[]) {}

  /** In value position, `in` and `notin` are plain identifiers (`x in (in)`). */
  peek(values = true): Token {
    const t = this.items[this.pos]!;
    return values && (t.tok === "in" || t.tok === "notin") ? { tok: "id", lit: t.lit } : t;
  }

  next(values = true): Token {
    const t = this.peek(values);
    this.pos++;
    return t;
  }
}

function parseError(message: string): Error {
  return new Error(message);
}

/** Quotes a Go `[]string` as `%#v` prints it, for field.Invalid on a values list. */
function goStrings(values: string[]): string {
  return `[]string{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
}

/**
 * apimachinery's NewRequirement checks, with messages worded as its field errors (the parser
 * has a nil field path, printed `<nil>` by Go).
 */
function checkRequirement(key: string, op: LabelOperator, values: string[]): string[] {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0)
    errs.push(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join("; ")}`);
  switch (op) {
    case "in":
    case "notin":
      if (values.length === 0) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: for 'in', 'notin' operators, values set can't be empty`,
        );
      }
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: exact-match compatibility requires one single value`,
        );
      }
      break;
    case "exists":
    case "!":
      if (values.length !== 0) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`,
        );
      }
      break;
    case "gt":
    case "lt":
      if (values.length !== 1) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: for 'Gt', 'Lt' operators, exactly one value is required`,
        );
      } else if (!INTEGER.test(values[0]!)) {
        errs.push(
          `values[0]: Invalid value: ${JSON.stringify(values[0])}: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      }
      break;
  }
  values.forEach((v, i) => {
    const vErrs = isValidLabelValue(v);
    if (vErrs.length > 0) {
      errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${vErrs.join("; ")}`);
    }
  });
  return errs;
}

function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0]! : `[${errs.join(", ")}]`;
}

function newRequirement(key: string, op: LabelOperator, values: string[]): LabelRequirement {
  const sorted = [...new Set(values)].sort();
  const errs = checkRequirement(key, op, sorted);
  if (errs.length > 0) throw parseError(aggregate(errs));
  return { key, operator: op, values: sorted };
}

function parseValues(p: Parser): string[] {
  const open = p.next();
  if (open.tok !== "(") throw parseError(`found '${open.lit}' expected: '('`);
  const first = p.peek();
  if (first.tok === ")") {
    p.next();
    return [""];
  }
  if (first.tok !== "id" && first.tok !== ",") {
    throw parseError(`found '${first.lit}', expected: ',', ')' or identifier`);
  }
  const set = new Set<string>();
  for (;;) {
    const t = p.next();
    if (t.tok === "id") {
      set.add(t.lit);
      const t2 = p.peek();
      if (t2.tok === ",") continue;
      if (t2.tok === ")") break;
      throw parseError(`found '${t2.lit}', expected: ',' or ')'`);
    }
    if (t.tok === ",") {
      // Empty members: "(,a)", "(a,)", "(a,,b)" all contain "".
      if (set.size === 0) set.add("");
      const t2 = p.peek();
      if (t2.tok === ")") {
        set.add("");
        break;
      }
      if (t2.tok === ",") {
        p.next();
        set.add("");
      }
      continue;
    }
    throw parseError(`found '${t.lit}', expected: ',', or identifier`);
  }
  const close = p.next();
  if (close.tok !== ")") throw parseError(`found '${first.lit}', expected: ')'`);
  return [...set];
}

function parseRequirement(p: Parser): LabelRequirement {
  let t = p.next();
  let op: LabelOperator | undefined;
  if (t.tok === "!") {
    op = "!";
    t = p.next();
  }
  if (t.tok !== "id") throw parseError(`found '${t.lit}', expected: identifier`);
  const key = t.lit;
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) {
    throw parseError(`<nil>: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join("; ")}`);
  }
  const after = p.peek();
  // `!k` takes no operator; whatever follows it is reported by the caller as a bad separator.
  if (op === "!" || after.tok === "end" || after.tok === ",") {
    return newRequirement(key, op ?? "exists", []);
  }
  const opTok = p.next(false);
  let binary: LabelOperator;
  switch (opTok.tok) {
    case "in":
    case "notin":
    case "=":
    case "==":
    case "!=":
      binary = opTok.tok;
      break;
    case ">":
      binary = "gt";
      break;
    case "<":
      binary = "lt";
      break;
    default:
      throw parseError(`found '${opTok.lit}', expected: in, notin, =, ==, !=, gt, lt`);
  }
  let values: string[];
  if (binary === "in" || binary === "notin") {
    values = parseValues(p);
  } else {
    const v = p.peek();
    if (v.tok === "end" || v.tok === ",") {
      values = [""];
    } else {
      const vt = p.next();
      if (vt.tok !== "id") throw parseError(`found '${vt.lit}', expected: identifier`);
      values = [vt.lit];
    }
  }
  return newRequirement(key, binary, values);
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Parses `?labelSelector=` syntax. Throws a 400 StatusError on bad input.
 *
 * @example parseLabelSelector("app=web,tier in (a,b),!canary")
 */
export function parseLabelSelector(s: string): LabelSelector {
  const p = new Parser(lex(s));
  const reqs: LabelRequirement[] = [];
  for (;;) {
    const t = p.peek();
    if (t.tok === "end") break;
    if (t.tok !== "id" && t.tok !== "!") {
      throw badRequest(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
    }
    try {
      reqs.push(parseRequirement(p));
    } catch (e) {
      throw badRequest(`unable to parse requirement: ${(e as Error).message}`);
    }
    const sep = p.next();
    if (sep.tok === "end") break;
    if (sep.tok !== ",") throw badRequest(`found '${sep.lit}', expected: ',' or 'end of string'`);
    const t2 = p.peek();
    if (t2.tok !== "id" && t2.tok !== "!") {
      throw badRequest(`found '${t2.lit}', expected: identifier after ','`);
    }
  }
  return { requirements: sortByKey(reqs) };
}

const SPEC_OPERATORS: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/**
 * Compiles a `LabelSelector` object from a spec (`matchLabels` AND `matchExpressions`).
 * `null`/`undefined` → {@link NOTHING}; `{}` → {@link EVERYTHING}. Throws 400 on an invalid
 * selector (validation normally rejects those earlier, see {@link validateLabelSelector}).
 */
export function selectorFromLabelSelector(ls: LabelSelectorSpec | null | undefined): LabelSelector {
  if (ls === null || ls === undefined) return NOTHING;
  const reqs: LabelRequirement[] = [];
  const fail = (errs: string[]): never => {
    throw badRequest(aggregate(errs));
  };
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    const errs = checkRequirement(k, "=", [v]);
    if (errs.length > 0) fail(errs);
    reqs.push({ key: k, operator: "=", values: [v] });
  }
  for (const expr of ls.matchExpressions ?? []) {
    const op = SPEC_OPERATORS[expr.operator];
    if (!op)
      throw badRequest(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    const values = [...new Set(expr.values ?? [])].sort();
    const errs = checkRequirement(expr.key, op, values);
    if (errs.length > 0) fail(errs);
    reqs.push({ key: expr.key, operator: op, values });
  }
  return { requirements: sortByKey(reqs) };
}

/** A selector matching exactly the given labels (`labels.SelectorFromSet`); empty → everything. */
export function selectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  const reqs = Object.entries(set ?? {}).map(
    ([key, v]): LabelRequirement => ({ key, operator: "=", values: [v] }),
  );
  return { requirements: sortByKey(reqs) };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(labels[r.key]!);
    case "!=":
    case "notin":
      return !has || !r.values.includes(labels[r.key]!);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      // A missing label or one that is not an integer never matches.
      const v = has ? labels[r.key]! : "";
      if (!INTEGER.test(v)) return false;
      const diff = BigInt(v) - BigInt(r.values[0]!);
      return r.operator === "gt" ? diff > 0n : diff < 0n;
    }
  }
}

/** True when every requirement holds for `labels` (absent labels are the empty set). */
export function matches(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  if (selector.nothing) return false;
  const l = labels ?? {};
  return selector.requirements.every((r) => requirementMatches(r, l));
}

/** True when the selector does not restrict anything (and is not {@link NOTHING}). */
export function isEverything(selector: LabelSelector): boolean {
  return !selector.nothing && selector.requirements.length === 0;
}

function requirementToString(r: LabelRequirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    case "gt":
      return `${r.key}>${r.values[0] ?? ""}`;
    case "lt":
      return `${r.key}<${r.values[0] ?? ""}`;
    default:
      return `${r.key}${r.operator}${r.values[0] ?? ""}`;
  }
}

/**
 * kubectl's rendering: `app=web,tier in (a,b)`. Everything and nothing both render as the empty
 * string, as apimachinery's `String()` does; callers print `<none>` themselves.
 */
export function selectorToString(selector: LabelSelector): string {
  if (selector.nothing) return "";
  return selector.requirements.map(requirementToString).join(",");
}

/**
 * The labels every match must carry with one exact value (`k=v`, `k==v`, `k in (v)`): a selector
 * can be answered from a label index on any of them. Empty when there is none.
 */
export function requiredEquals(selector: LabelSelector): Record<string, string> {
  const out: Record<string, string> = {};
  if (selector.nothing) return out;
  for (const r of selector.requirements) {
    if (
      (r.operator === "=" || r.operator === "==" || r.operator === "in") &&
      r.values.length === 1
    ) {
      out[r.key] = r.values[0]!;
    }
  }
  return out;
}

/**
 * Validates a `LabelSelector` object inside a spec, as apimachinery's ValidateLabelSelector
 * (`fieldPath` such as `spec.selector`). A null selector is valid here; required-ness is the
 * caller's rule.
 */
export function validateLabelSelector(
  ls: LabelSelectorSpec | null | undefined,
  fieldPath: string,
): FieldError[] {
  const errs: FieldError[] = [];
  if (ls === null || ls === undefined) return errs;
  const mlPath = `${fieldPath}.matchLabels`;
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(fieldInvalid(mlPath, k, m));
    for (const m of isValidLabelValue(v)) errs.push(fieldInvalid(mlPath, v, m));
  }
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    const p = `${fieldPath}.matchExpressions[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          errs.push(
            fieldRequired(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"),
          );
        }
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) {
          errs.push(
            fieldForbidden(
              `${p}.values`,
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        }
        break;
      default:
        errs.push(fieldInvalid(`${p}.operator`, expr.operator, "not a valid selector operator"));
    }
    for (const m of isQualifiedName(expr.key ?? ""))
      errs.push(fieldInvalid(`${p}.key`, expr.key, m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(fieldInvalid(`${p}.values[${j}]`, v, m));
    });
  });
  return errs;
}
