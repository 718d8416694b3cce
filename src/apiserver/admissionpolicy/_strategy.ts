/**
 * The admissionregistration kinds' validation with their CEL compiled, which the kinds in
 * `api/kinds` cannot do (they have no CEL): webhook matchConditions, and a policy's
 * matchConditions, variables, validations (expression and messageExpression) and
 * auditAnnotations' valueExpression, each an Invalid on its expression's path with kube's detail
 * (`compilation failed: ERROR: <input>:…`, `must evaluate to bool`).
 *
 * @module
 */
import { type FieldError, fieldInvalid } from "../../api/errors.ts";
import type { KindStrategy } from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { DeclType } from "../../cel/index.ts";
import { compileAdmission, type Declarations } from "./_cel.ts";

type Obj = Record<string, unknown>;
const list = (v: unknown): Obj[] =>
  Array.isArray(v) ? v.filter((x): x is Obj => typeof x === "object" && x !== null) : [];
const text = (v: unknown): string => (typeof v === "string" ? v : "");

function check(
  source: unknown,
  path: string,
  d: Declarations,
  expect: "bool" | "string" | undefined,
  trim = true,
): FieldError[] {
  const s = text(source);
  if (s.trim() === "") return [];
  const r = compileAdmission(trim ? s.trim() : s, d, expect);
  return r.ok ? [] : [fieldInvalid(path, s, r.detail)];
}

function conditionErrors(conditions: unknown, path: string, d: Declarations): FieldError[] {
  return list(conditions).flatMap((c, i) =>
    check(c.expression, `${path}[${i}].expression`, d, "bool"),
  );
}

export function webhookExpressionErrors(cfg: KubeObject): FieldError[] {
  return list((cfg as Obj).webhooks).flatMap((hook, i) =>
    conditionErrors(hook.matchConditions, `webhooks[${i}].matchConditions`, {}),
  );
}

export function policyExpressionErrors(policy: KubeObject): FieldError[] {
  const spec = ((policy as Obj).spec ?? {}) as Obj;
  const params = typeof spec.paramKind === "object" && spec.paramKind !== null;
  const errs = conditionErrors(spec.matchConditions, "spec.matchConditions", { params });
  const types = new Map<string, DeclType>();
  list(spec.variables).forEach((v, i) => {
    const s = text(v.expression);
    if (s.trim() === "") return;
    const r = compileAdmission(s, { params, variables: new Map(types) });
    if (r.ok) types.set(text(v.name), r.program.type);
    else errs.push(fieldInvalid(`spec.variables[${i}].expression`, s, r.detail));
  });
  const d: Declarations = { params, variables: types };
  list(spec.validations).forEach((v, i) => {
    const p = `spec.validations[${i}]`;
    errs.push(...check(v.expression, `${p}.expression`, d, "bool", false));
    errs.push(
      ...check(
        v.messageExpression,
        `${p}.messageExpression`,
        { ...d, authorizer: false },
        "string",
        false,
      ),
    );
  });
  list(spec.auditAnnotations).forEach((a, i) => {
    errs.push(
      ...check(a.valueExpression, `spec.auditAnnotations[${i}].valueExpression`, d, "string"),
    );
  });
  return errs;
}

/** `strategy` with `more` added to its create and update validation. */
export function withChecks(
  strategy: KindStrategy,
  more: (obj: KubeObject) => FieldError[],
): KindStrategy {
  return {
    ...strategy,
    validate: (obj) => [...strategy.validate(obj), ...more(obj)],
    validateUpdate: (obj, old) => [...strategy.validateUpdate(obj, old), ...more(obj)],
  };
}
