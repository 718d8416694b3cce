/**
 * kube's type checking of a ValidatingAdmissionPolicy (its `status.typeChecking`): each
 * validation's expression and messageExpression is checked again with `object` and `oldObject`
 * typed by the schema of every kind its resourceRules name exactly (no `*`), and what fails is a
 * warning `<group>/<version>, Kind=<kind>: <cel-go's error>` at the expression's field path. The
 * policy is still accepted and run: these are warnings, as on kube.
 *
 * @module
 */
import type { CelSchema, DeclType } from "../../cel/index.ts";
import { compile, DYN, declTypeOf } from "../../cel/index.ts";
import type { ResourceInfo } from "../resources.ts";
import type { PolicySpec } from "./_policy.ts";

export interface ExpressionWarning {
  fieldRef: string;
  warning: string;
}

export interface TypeCheckOptions {
  /** Every served resource (the kinds behind a rule's resources). */
  resources(): readonly ResourceInfo[];
  /** The schema of a kind, if known. */
  schemaOf(gvk: { group: string; version: string; kind: string }): CelSchema | undefined;
}

const exact = (list: string[] | undefined) => (list ?? []).filter((v) => v !== "*" && v !== "");

/** The kinds the policy's resourceRules name exactly. */
function kindsOf(spec: PolicySpec, options: TypeCheckOptions): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const rule of spec.matchConstraints?.resourceRules ?? []) {
    if ((rule.apiGroups ?? []).includes("*") || (rule.apiVersions ?? []).includes("*")) continue;
    for (const group of exact(rule.apiGroups))
      for (const version of exact(rule.apiVersions))
        for (const resource of exact(rule.resources)) {
          const info = options
            .resources()
            .find((r) => r.group === group && r.version === version && r.resource === resource);
          if (info && !out.includes(info)) out.push(info);
        }
  }
  return out;
}

export function typeCheck(spec: PolicySpec, options: TypeCheckOptions): ExpressionWarning[] {
  const kinds = kindsOf(spec, options).flatMap((info) => {
    const schema = options.schemaOf(info);
    return schema ? [{ info, type: declTypeOf(schema) }] : [];
  });
  if (kinds.length === 0) return [];
  const params = spec.paramKind !== undefined;
  const warnings: ExpressionWarning[] = [];
  const check = (source: string | undefined, fieldRef: string, authorizer: boolean) => {
    if (!source?.trim()) return;
    const found: string[] = [];
    for (const { info, type } of kinds) {
      const vars = new Map<string, DeclType>([
        ["object", type],
        ["oldObject", type],
        ["request", DYN],
        ["namespaceObject", DYN],
        ["variables", DYN],
      ]);
      if (params) vars.set("params", DYN);
      if (authorizer) vars.set("authorizer", { name: "opaque", maxElements: 0, minSize: 1 });
      const c = compile(source, vars);
      if (!c.ok) found.push(`${info.group}/${info.version}, Kind=${info.kind}: ${c.error}`);
    }
    if (found.length) warnings.push({ fieldRef, warning: found.join("\n") });
  };
  (spec.validations ?? []).forEach((v, i) => {
    check(v.expression, `spec.validations[${i}].expression`, true);
    check(v.messageExpression, `spec.validations[${i}].messageExpression`, false);
  });
  return warnings;
}
