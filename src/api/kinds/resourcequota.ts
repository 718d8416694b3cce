/**
 * core/v1 ResourceQuotas as kube-apiserver 1.32 keeps them: validation with kube's messages
 * (standard quota resource names or qualified ones, non-negative and, for object counts, whole
 * values; scopes and scope selectors valid for the resources they limit, not conflicting, and
 * immutable), a status written only through `/status` (empty on create), and the `kubectl get
 * quota` columns (NAME, AGE, REQUEST, LIMIT: `used/hard` per resource, `limits.*` apart).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldRequired } from "../errors.ts";
import { formatQuantity, isQuantity, quantity } from "../quantity.ts";
import {
  isIntegerResourceName,
  isStandardQuotaResourceName,
  isStandardResourceName,
  QUOTA_SCOPES,
  scopeValidForResource,
} from "../quota/index.ts";
import type { KubeObject } from "../types.ts";
import { isQualifiedName } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { simpleValidators } from "./_simple.ts";
import { at, isObj, type Obj, objs, semanticEqual, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

/** validateResourceName: qualified, and standard unless it has a domain. */
export function validateResourceName(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => fieldInvalid(path, name, m));
  if (errs.length > 0) return errs;
  if (!name.includes("/") && !isStandardResourceName(name))
    errs.push(fieldInvalid(path, name, "must be a standard resource type or fully qualified"));
  return errs;
}

function validateQuotaResourceName(name: string, path: string): FieldError[] {
  const errs = validateResourceName(name, path);
  if (!name.includes("/") && !isStandardQuotaResourceName(name))
    errs.push(fieldInvalid(path, name, "must be a standard resource for quota"));
  return errs;
}

function validateQuotaList(list: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(list)) return errs;
  for (const [name, raw] of Object.entries(list)) {
    const p = `${path}[${name}]`;
    errs.push(...validateQuotaResourceName(name, p));
    if (!isQuantity(raw)) continue;
    const q = quantity(raw as string);
    if (q.nanos < 0n)
      errs.push(fieldInvalid(p, formatQuantity(q), "must be greater than or equal to 0"));
    if (isIntegerResourceName(name) && q.nanos % 1_000_000_000n !== 0n)
      errs.push(fieldInvalid(p, formatQuantity(q), "must be an integer"));
  }
  return errs;
}

/** `[]core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}`, as `%#v` prints the list. */
function goScopes(scopes: unknown): string {
  if (!Array.isArray(scopes)) return "[]core.ResourceQuotaScope(nil)";
  return `[]core.ResourceQuotaScope{${scopes.map((s) => JSON.stringify(str(s))).join(", ")}}`;
}

const CONFLICTING = [
  ["BestEffort", "NotBestEffort"],
  ["Terminating", "NotTerminating"],
];
const EXISTS_ONLY = [
  "BestEffort",
  "NotBestEffort",
  "Terminating",
  "NotTerminating",
  "CrossNamespacePodAffinity",
];

function validateScopes(spec: Obj, hard: string[]): FieldError[] {
  const errs: FieldError[] = [];
  const scopes = Array.isArray(spec.scopes) ? spec.scopes.map(str) : [];
  if (scopes.length === 0) return errs;
  const rendered = goScopes(spec.scopes);
  for (const scope of scopes) {
    if (!QUOTA_SCOPES.includes(scope))
      errs.push(invalidRaw("spec.scopes", rendered, "unsupported scope"));
    for (const r of [...hard].sort())
      if (isStandardQuotaResourceName(r) && !scopeValidForResource(scope, r))
        errs.push(invalidRaw("spec.scopes", rendered, "unsupported scope applied to resource"));
  }
  for (const pair of CONFLICTING)
    if (pair.every((s) => scopes.includes(s)))
      errs.push(invalidRaw("spec.scopes", rendered, "conflicting scopes"));
  return errs;
}

function validateScopeSelector(spec: Obj, hard: string[]): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(spec.scopeSelector)) return errs;
  const path = "spec.scopeSelector.matchExpressions";
  const seen = new Set<string>();
  for (const req of objs(spec.scopeSelector.matchExpressions)) {
    const scope = str(req.scopeName);
    const operator = str(req.operator);
    const values = Array.isArray(req.values) ? req.values : [];
    if (!QUOTA_SCOPES.includes(scope))
      errs.push(fieldInvalid(`${path}.scopeName`, scope, "unsupported scope"));
    for (const r of [...hard].sort())
      if (isStandardQuotaResourceName(r) && !scopeValidForResource(scope, r))
        errs.push(
          invalidRaw(path, "&core.ScopeSelector{…}", "unsupported scope applied to resource"),
        );
    if (EXISTS_ONLY.includes(scope) && operator !== "Exists")
      errs.push(
        fieldInvalid(
          `${path}.operator`,
          operator,
          "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
        ),
      );
    if (operator === "In" || operator === "NotIn") {
      if (values.length === 0)
        errs.push(
          fieldRequired(
            `${path}.values`,
            "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
          ),
        );
    } else if (operator === "Exists" || operator === "DoesNotExist") {
      if (values.length > 0)
        errs.push(
          invalidRaw(
            `${path}.values`,
            `[]string{${values.map((v) => JSON.stringify(str(v))).join(", ")}}`,
            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
          ),
        );
    } else {
      errs.push(fieldInvalid(`${path}.operator`, operator, "not a valid selector operator"));
    }
    seen.add(scope);
  }
  for (const pair of CONFLICTING)
    if (pair.every((s) => seen.has(s)))
      errs.push(invalidRaw(path, goScopes(spec.scopes), "conflicting scopes"));
  return errs;
}

function validateQuota(quota: KubeObject): FieldError[] {
  const spec = isObj(quota.spec) ? quota.spec : {};
  const hard = isObj(spec.hard) ? Object.keys(spec.hard) : [];
  return [
    ...validateQuotaList(spec.hard, "spec.hard"),
    ...validateScopes(spec, hard),
    ...validateScopeSelector(spec, hard),
    ...validateQuotaList(at(quota, "status", "hard"), "status.hard"),
    ...validateQuotaList(at(quota, "status", "used"), "status.used"),
  ];
}

function validateQuotaUpdate(quota: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const scopes = at(quota, "spec", "scopes");
  if (!semanticEqual(scopes ?? [], at(old, "spec", "scopes") ?? []))
    errs.push(invalidRaw("spec.scopes", goScopes(scopes), "field is immutable"));
  if (!semanticEqual(at(quota, "spec", "scopeSelector"), at(old, "spec", "scopeSelector")))
    errs.push(invalidRaw("spec.scopeSelector", "&core.ScopeSelector{…}", "field is immutable"));
  return errs;
}

/** `requests.cpu: 1/2, pods: 0/10` (REQUEST) and the `limits.*` ones (LIMIT). */
export function quotaCells(quota: KubeObject): [string, string] {
  const hard = at(quota, "status", "hard");
  const used = at(quota, "status", "used");
  const request: string[] = [];
  const limit: string[] = [];
  if (!isObj(hard)) return ["", ""];
  const show = (v: unknown) => (isQuantity(v) ? formatQuantity(quantity(v as string)) : "0");
  for (const name of Object.keys(hard).sort()) {
    const cell = `${name}: ${show(isObj(used) ? used[name] : undefined)}/${show(hard[name])}`;
    const pieces = name.split(".");
    (pieces.length > 1 && pieces[0] === "limits" ? limit : request).push(cell);
  }
  return [request.join(", "), limit.join(", ")];
}

export const resourceQuotaStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  resource: "resourcequotas",
  singular: "resourcequota",
  shortNames: ["quota"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults() {},
  prepareForCreate(quota) {
    quota.status = {};
  },
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: validateQuota,
    update: validateQuotaUpdate,
  }),
  columns: [
    NAME,
    AGE,
    column(
      "Request",
      "string",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    column(
      "Limit",
      "string",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  row(quota, now) {
    return [
      quota.metadata.name ?? "",
      sinceTimestamp(quota.metadata.creationTimestamp, now),
      ...quotaCells(quota),
    ];
  },
};
