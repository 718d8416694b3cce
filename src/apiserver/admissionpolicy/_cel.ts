/**
 * CEL in admission, as kube-apiserver's `plugin/cel` compiles and runs it for webhook
 * matchConditions and ValidatingAdmissionPolicies: the variables `object`, `oldObject`,
 * `request` (the AdmissionRequest without its objects), `namespaceObject`, `authorizer` (and
 * `authorizer.requestResource`), and
 * where a policy has them `params` and `variables`; object-like values are dyn (kube compiles
 * admission expressions against dyn; its type-checking against schemas only warns). Compile
 * errors are kube's details (`compilation failed: ERROR: <input>:1:1: …`, `must evaluate to
 * bool`); an evaluation error is `expression '…' resulted in error: …`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { CelInput, CelValue } from "@bufbuild/cel";
import type { KubeObject } from "../../api/types.ts";
import {
  type AuthzCheck,
  authorizerValue,
  compile,
  type DeclType,
  DYN,
  type Program,
  requestResourceValue,
  toCel,
} from "../../cel/index.ts";
import type { WriteAttributes } from "../registry/index.ts";

const AUTHORIZER_TYPE: DeclType = { name: "opaque", maxElements: 0, minSize: 1 };

export interface Declarations {
  /** `params` is declared (the policy has a paramKind). */
  params?: boolean;
  /** `authorizer` is declared (not in messageExpression). */
  authorizer?: boolean;
  /** The policy's variables so far, by name, with their result types. */
  variables?: ReadonlyMap<string, DeclType>;
}

function declarations(d: Declarations): Map<string, DeclType> {
  const vars = new Map<string, DeclType>([
    ["object", DYN],
    ["oldObject", DYN],
    ["request", DYN],
    ["namespaceObject", DYN],
  ]);
  if (d.params) vars.set("params", DYN);
  if (d.authorizer !== false) vars.set("authorizer", AUTHORIZER_TYPE);
  if (d.variables) {
    vars.set("variables", {
      name: "object",
      fields: new Map(d.variables),
      maxElements: d.variables.size,
      minSize: 2,
    });
  }
  return vars;
}

export type Compiled = { ok: true; program: Program } | { ok: false; detail: string };

/**
 * Compiles one admission expression; `expect` is the result type kube requires (`bool` for
 * conditions and validations, `string` for messageExpression and audit values, or any).
 */
export function compileAdmission(
  source: string,
  d: Declarations,
  expect?: "bool" | "string",
): Compiled {
  const c = compile(source, declarations(d));
  if (!c.ok) return { ok: false, detail: `compilation failed: ${c.error}` };
  if (expect && c.program.type.name !== expect)
    return { ok: false, detail: `must evaluate to ${expect}` };
  return c;
}

/** What one admission call evaluates against. */
export interface AdmissionInput {
  attrs: WriteAttributes;
  /** The kind and resource the expressions see the objects as. */
  as: { group: string; version: string; kind: string; resource: string };
  obj: KubeObject | undefined;
  old: KubeObject | undefined;
  namespace?: KubeObject | undefined;
  params?: KubeObject | null | undefined;
  /** Answers `authorizer` checks for the requester (undefined: everything allowed). */
  authorize?: AuthzCheck | undefined;
}

/** The AdmissionRequest `request` shows (kube's, without object, oldObject and options). */
export function admissionRequest(input: AdmissionInput): Record<string, unknown> {
  const { attrs, as } = input;
  const info = attrs.info;
  const user = attrs.user;
  const request: Record<string, unknown> = {
    uid: randomUUID(),
    kind: { group: as.group, version: as.version, kind: as.kind },
    resource: { group: as.group, version: as.version, resource: as.resource },
    requestKind: { group: info.group, version: info.version, kind: info.kind },
    requestResource: { group: info.group, version: info.version, resource: info.resource },
    name: attrs.name,
    namespace: attrs.namespace,
    operation: attrs.operation,
    userInfo: user
      ? {
          username: user.name,
          uid: user.uid ?? "",
          groups: user.groups,
          ...(user.extra ? { extra: user.extra } : {}),
        }
      : { username: "system:apiserver", groups: ["system:masters", "system:authenticated"] },
    dryRun: attrs.dryRun,
    options: attrs.options,
  };
  if (attrs.subresource) {
    request.subResource = attrs.subresource;
    request.requestSubResource = attrs.subresource;
  }
  return request;
}

const ALLOW_ALL: AuthzCheck = () => ({ allowed: true, reason: "" });

/** The variables' values for one call (`variables` is added by the caller). */
export function bindingsOf(input: AdmissionInput): Record<string, CelInput> {
  const { attrs } = input;
  const authorize = input.authorize ?? ALLOW_ALL;
  return {
    object: toCel(input.obj ?? null, DYN),
    oldObject: toCel(input.old ?? null, DYN),
    request: toCel(admissionRequest(input), DYN),
    namespaceObject: toCel(input.namespace ?? null, DYN),
    params: toCel(input.params ?? null, DYN),
    authorizer: authorizerValue(authorize),
    "authorizer.requestResource": requestResourceValue(authorize, {
      group: attrs.info.group,
      resource: attrs.info.resource,
      subresource: attrs.subresource,
      namespace: attrs.namespace,
      name: attrs.name,
    }),
  };
}

/** Runs a program; an evaluation error comes back in kube's words. */
export function evaluate(program: Program, bindings: Record<string, CelInput>): CelValue | Error {
  const r = program.eval(bindings);
  if (r instanceof Error)
    return new Error(`expression '${program.source}' resulted in error: ${r.message}`);
  return r;
}

export interface Condition {
  name: string;
  program: Program;
}

export type ConditionsResult = { matches: boolean } | { error: string };

/**
 * kube's match-condition matcher: any condition false → no match; else errors (a non-bool
 * result is one) under failurePolicy Fail are an error, under Ignore no match; else a match.
 */
export function matchConditions(
  conditions: readonly Condition[],
  bindings: Record<string, CelInput>,
  failurePolicy: string | undefined,
): ConditionsResult {
  const errors: string[] = [];
  for (const c of conditions) {
    const r = evaluate(c.program, bindings);
    if (r instanceof Error) errors.push(r.message);
    else if (r === false) return { matches: false };
    else if (r !== true)
      errors.push(`expression '${c.program.source}' resulted in error: no such overload`);
  }
  if (errors.length === 0) return { matches: true };
  if (failurePolicy === "Ignore") return { matches: false };
  return { error: errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]` };
}
