/**
 * One ValidatingAdmissionPolicy compiled and run, as kube's policy validator does: match
 * conditions first (false → the policy does not apply; an error follows failurePolicy), then the
 * variables in order, then each validation. A validation that is false denies with the
 * messageExpression's result (a non-empty one-line string), else `message`, else
 * `failed expression: <expression>`, and its reason (Invalid when unset); one that fails to run
 * denies with the error under failurePolicy Fail and admits under Ignore.
 *
 * Variables are evaluated when first read, once per call.
 *
 * Not done: auditAnnotations are accepted but not evaluated (loopkube writes no audit log); no
 * runtime cost budget.
 *
 * @module
 */
import type { CelInput } from "@bufbuild/cel";
import type { DeclType, Program } from "../../cel/index.ts";
import { type Condition, compileAdmission, evaluate, matchConditions } from "./_cel.ts";
import type { MatchResources } from "./_match.ts";

export interface PolicySpec {
  failurePolicy?: string;
  paramKind?: { apiVersion?: string; kind?: string };
  matchConstraints?: MatchResources;
  matchConditions?: Array<{ name: string; expression: string }>;
  variables?: Array<{ name: string; expression: string }>;
  validations?: Array<{
    expression: string;
    message?: string;
    messageExpression?: string;
    reason?: string;
  }>;
}

type Compiled<T> = T | { error: string };

interface Validation {
  expression: string;
  program: Compiled<Program>;
  message?: string | undefined;
  messageProgram?: Program | undefined;
  reason: string;
}

export interface CompiledPolicy {
  name: string;
  spec: PolicySpec;
  conditions: Compiled<Condition[]>;
  variables: Array<{ name: string; program: Compiled<Program> }>;
  validations: Validation[];
}

export interface Decision {
  deny: boolean;
  message: string;
  reason: string;
}

const MAX_MESSAGE_BYTES = 5 * 1024;

export function compilePolicy(name: string, spec: PolicySpec): CompiledPolicy {
  const params = spec.paramKind !== undefined;
  const conditions: Condition[] = [];
  let conditionError: string | undefined;
  for (const c of spec.matchConditions ?? []) {
    const r = compileAdmission(c.expression, { params }, "bool");
    if (r.ok) conditions.push({ name: c.name, program: r.program });
    else conditionError ??= r.detail;
  }
  const types = new Map<string, DeclType>();
  const variables = (spec.variables ?? []).map((v) => {
    const r = compileAdmission(v.expression, { params, variables: new Map(types) });
    if (r.ok) types.set(v.name, r.program.type);
    return { name: v.name, program: r.ok ? r.program : { error: r.detail } };
  });
  const declared = { params, variables: types };
  const validations = (spec.validations ?? []).map((v): Validation => {
    const r = compileAdmission(v.expression, declared, "bool");
    const m = v.messageExpression
      ? compileAdmission(v.messageExpression, { ...declared, authorizer: false }, "string")
      : undefined;
    return {
      expression: v.expression,
      program: r.ok ? r.program : { error: r.detail },
      message: v.message,
      messageProgram: m?.ok ? m.program : undefined,
      reason: v.reason ?? "Invalid",
    };
  });
  return {
    name,
    spec,
    conditions: conditionError ? { error: conditionError } : conditions,
    variables,
    validations,
  };
}

function failed<T>(c: Compiled<T>): c is { error: string } {
  return typeof c === "object" && c !== null && "error" in c && typeof c.error === "string";
}

/**
 * `variables`, evaluated when first used and then kept, as kube's composited variables are: a
 * variable that fails makes each expression that reads it fail with
 * `composited variable "x" fails to evaluate: …`.
 */
class Variables extends Map<string, CelInput> {
  private readonly programs: Map<string, Compiled<Program>>;
  private readonly bindings: Record<string, CelInput>;
  private readonly failures = new Map<string, string>();

  constructor(variables: CompiledPolicy["variables"], bindings: Record<string, CelInput>) {
    super();
    this.programs = new Map(variables.map((v) => [v.name, v.program]));
    this.bindings = bindings;
  }

  override has(name: string): boolean {
    return this.programs.has(name);
  }

  override get(name: string): CelInput | undefined {
    if (super.has(name)) return super.get(name);
    const failure = this.failures.get(name);
    if (failure) throw new Error(failure);
    const program = this.programs.get(name);
    if (!program) return undefined;
    // Marked first, so a variable that reads itself fails instead of recursing.
    this.failures.set(name, `composited variable "${name}" fails to evaluate: cyclic reference`);
    const r = failed(program) ? new Error(program.error) : program.eval(this.bindings);
    if (r instanceof Error) {
      const message = `composited variable "${name}" fails to evaluate: ${r.message}`;
      this.failures.set(name, message);
      throw new Error(message);
    }
    this.failures.delete(name);
    super.set(name, r as CelInput);
    return r as CelInput;
  }
}

/** The message of a false validation. */
function messageOf(v: Validation, bindings: Record<string, CelInput>): string {
  if (v.messageProgram) {
    const r = evaluate(v.messageProgram, bindings);
    if (typeof r === "string") {
      const text = r.trim();
      if (text && !text.includes("\n") && Buffer.byteLength(text) <= MAX_MESSAGE_BYTES) return text;
    }
  }
  if (v.message?.trim()) return v.message.trim();
  return `failed expression: ${v.expression.trim()}`;
}

/** Runs a policy against one request's bindings (and one param); the denials it decides. */
export function runPolicy(p: CompiledPolicy, base: Record<string, CelInput>): Decision[] {
  const fail = p.spec.failurePolicy !== "Ignore";
  const onError = (message: string): Decision[] =>
    fail ? [{ deny: true, message, reason: "Invalid" }] : [];
  if (failed(p.conditions)) return onError(p.conditions.error);
  const matched = matchConditions(p.conditions, base, p.spec.failurePolicy);
  if ("error" in matched) return onError(matched.error);
  if (!matched.matches) return [];
  const bindings: Record<string, CelInput> = { ...base };
  bindings.variables = new Variables(p.variables, bindings) as unknown as CelInput;
  const out: Decision[] = [];
  for (const v of p.validations) {
    if (failed(v.program)) {
      out.push(...onError(v.program.error));
      continue;
    }
    const r = evaluate(v.program, bindings);
    if (r instanceof Error) out.push(...onError(r.message));
    else if (r !== true)
      out.push({ deny: true, message: messageOf(v, bindings), reason: v.reason });
  }
  return out;
}
