/**
 * Compiling and running one CEL expression in kube's environment: parse, type-check against the
 * declared variables (cel-go's messages, `ERROR: <input>:1:6: …` with the source line and a
 * caret), check the result type, estimate the worst-case cost; then evaluate with a per-call
 * cost limit computed from the actual sizes of the bound values.
 *
 * @module
 */
import { type CelInput, type CelResult, type CelValue, isCelError, plan } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { analyze } from "./_check.ts";
import { KUBE_FUNCS, kubeEnv } from "./_env.ts";
import { parseCel } from "./_optsyntax.ts";
import type { DeclType } from "./_types.ts";

/** kube's per-expression runtime cost limit (`PerCallLimit`). */
export const PER_CALL_LIMIT = 1_000_000;
/** kube's runtime cost budget of one CRD validation (`RuntimeCELCostBudget`). */
export const RUNTIME_COST_BUDGET = 10_000_000;
/** kube's estimated cost limit of one expression (`StaticEstimatedCostLimit`). */
export const STATIC_ESTIMATED_COST_LIMIT = 10_000_000;
/** kube's estimated cost limit of all a CRD's rules (`StaticEstimatedCRDCostLimit`). */
export const STATIC_ESTIMATED_CRD_COST_LIMIT = 100_000_000;

export interface Program {
  source: string;
  /** The checked result type (`dyn` when the checker cannot tell). */
  type: DeclType;
  /** Worst-case cost over the declared types. */
  maxCost: number;
  /** Variables the expression uses (`oldSelf` makes a rule a transition rule). */
  refs: ReadonlySet<string>;
  /** The cost of evaluating with values of these actual types. */
  costWith(actual: ReadonlyMap<string, DeclType>): number;
  /** Evaluates; a CEL error comes back as an Error whose message is cel-go's. */
  eval(bindings: Record<string, CelInput>): CelValue | Error;
}

export type Compiled = { ok: true; program: Program } | { ok: false; error: string };

function snippet(source: string, offset: number): { line: number; col: number; text: string } {
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const end = source.indexOf("\n", offset);
  return {
    line,
    col: offset - lineStart,
    text: source.slice(lineStart, end < 0 ? undefined : end),
  };
}

/** cel-go's issue text: `ERROR: <input>:1:6: msg` then ` | source` and ` | .....^`. */
function issue(source: string, offset: number, message: string): string {
  const s = snippet(source, offset);
  return `ERROR: <input>:${s.line}:${s.col + 1}: ${message}\n | ${s.text}\n | ${".".repeat(s.col)}^`;
}

function parseError(source: string, e: unknown): string {
  const cause = (e as { cause?: unknown }).cause ?? e;
  const loc = (cause as { location?: { start?: { offset?: number } } }).location?.start;
  const raw =
    (cause as { rawMessage?: string }).rawMessage ?? String((cause as Error).message ?? cause);
  return issue(source, loc?.offset ?? 0, `Syntax error: ${raw}`);
}

/** Compiles `source` with `vars` in scope, expecting a result of type `expect` (or any). */
export function compile(
  source: string,
  vars: ReadonlyMap<string, DeclType>,
  expect?: "bool" | "string",
): Compiled {
  let parsed: ReturnType<typeof parseCel>;
  try {
    parsed = parseCel(source);
  } catch (e) {
    return { ok: false, error: parseError(source, e) };
  }
  const expr: Expr = parsed.expr;
  const a = analyze(expr, vars, KUBE_FUNCS);
  if (a.issues.length) {
    const positions = parsed.sourceInfo?.positions ?? {};
    const text = a.issues
      .map((i) => issue(source, Number(positions[String(i.exprId)] ?? 0), i.message))
      .join("\n");
    return { ok: false, error: text };
  }
  if (expect && a.type.name !== expect && a.type.name !== "dyn")
    return { ok: false, error: `result type ${a.type.name} is not ${expect}` };
  let run: (b: Record<string, CelInput>) => CelResult;
  try {
    run = plan(kubeEnv(), parsed) as (b: Record<string, CelInput>) => CelResult;
  } catch (e) {
    return { ok: false, error: `program instantiation failed: ${(e as Error).message}` };
  }
  const program: Program = {
    source,
    type: a.type,
    maxCost: a.cost,
    refs: a.refs,
    costWith: (actual) => analyze(expr, actual, KUBE_FUNCS).cost,
    eval(bindings) {
      try {
        const r = run(bindings);
        if (isCelError(r)) return new Error(celGoMessage(r.message));
        return r;
      } catch (e) {
        return new Error(celGoMessage((e as Error).message));
      }
    },
  };
  return { ok: true, program };
}

/** Rewords `@bufbuild/cel`'s runtime errors as cel-go words them, where they differ. */
function celGoMessage(message: string): string {
  const key = /^(?:key "?(.*?)"? not found|field not found: (.*))$/.exec(message);
  if (key) return `no such key: ${key[1] ?? key[2]}`;
  if (/unresolved attribute|no such attribute/.test(message)) return "no such attribute";
  if (message.startsWith("int divide by zero") || message === "divide by zero")
    return "division by zero";
  if (message.startsWith("int modulus by zero")) return "modulus by zero";
  return message;
}
