/**
 * admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
 * (cluster-scoped, GA in 1.30): kube's defaults (failurePolicy Fail; matchResources' matchPolicy
 * Equivalent, empty selectors, rule scope `*`), kube's validation messages except what needs CEL
 * (the API server compiles the expressions, see `apiserver/admissionpolicy`), and the
 * `kubectl get` columns (NAME VALIDATIONS PARAMKIND AGE; NAME POLICYNAME PARAMREF AGE).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1035Label, isDNS1123Subdomain, isQualifiedName } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { selectorString, validateLabelSelector } from "./_selector.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, isObj, type Obj, objs, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";
import {
  FAILURE_POLICIES,
  MATCH_POLICIES,
  validateMatchConditions,
  validateRule,
} from "./webhookconfig.ts";

const ACTIONS = ["Audit", "Deny", "Warn"];
const NOT_FOUND_ACTIONS = ["Deny", "Allow"];
const REASONS = ["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"];
const CEL_IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

function defaultMatchResources(m: unknown): void {
  if (!isObj(m)) return;
  setDefault(m, "matchPolicy", "Equivalent");
  setDefault(m, "namespaceSelector", {});
  setDefault(m, "objectSelector", {});
  for (const rule of [...objs(m.resourceRules), ...objs(m.excludeResourceRules)])
    setDefault(rule, "scope", "*");
}

function validateNamedRule(rule: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  arr(rule.resourceNames)
    .map(str)
    .forEach((n, i) => {
      const p = `${path}.resourceNames[${i}]`;
      if (n === "." || n === "..") errs.push(fieldInvalid(p, n, `may not be '${n}'`));
      for (const bad of ["/", "%"])
        if (n.includes(bad)) errs.push(fieldInvalid(p, n, `may not contain '${bad}'`));
      if (seen.has(n)) errs.push(fieldDuplicate(p, n));
      seen.add(n);
    });
  return [...errs, ...validateRule(rule, path)];
}

function validateMatchResources(m: unknown, path: string): FieldError[] {
  if (!isObj(m)) return [];
  const errs: FieldError[] = [];
  if (m.matchPolicy === undefined) errs.push(fieldRequired(`${path}.matchPolicy`));
  else if (!MATCH_POLICIES.includes(str(m.matchPolicy)))
    errs.push(fieldNotSupported(`${path}.matchPolicy`, m.matchPolicy, MATCH_POLICIES));
  for (const sel of ["namespaceSelector", "objectSelector"]) {
    if (m[sel] === undefined) errs.push(fieldRequired(`${path}.${sel}`));
    else errs.push(...validateLabelSelector(m[sel], `${path}.${sel}`));
  }
  objs(m.resourceRules).forEach((r, i) => {
    errs.push(...validateNamedRule(r, `${path}.resourceRules[${i}]`));
  });
  objs(m.excludeResourceRules).forEach((r, i) => {
    errs.push(...validateNamedRule(r, `${path}.excludeResourceRules[${i}]`));
  });
  return errs;
}

function validateParamKind(pk: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const apiVersion = str(pk.apiVersion);
  if (apiVersion === "") errs.push(fieldRequired(`${path}.apiVersion`));
  else {
    const parts = apiVersion.split("/");
    if (parts.length > 2)
      errs.push(
        fieldInvalid(
          `${path}.apiVersion`,
          apiVersion,
          `unexpected GroupVersion string: ${apiVersion}`,
        ),
      );
    else {
      const [group, version] = parts.length === 2 ? parts : ["", parts[0]];
      if (group) {
        const e = isDNS1123Subdomain(group);
        if (e.length) errs.push(fieldInvalid(`${path}.apiVersion`, group, e.join(",")));
      }
      if (!version)
        errs.push(fieldInvalid(`${path}.apiVersion`, apiVersion, "version must be specified"));
      else {
        const e = isDNS1035Label(version);
        if (e.length) errs.push(fieldInvalid(`${path}.apiVersion`, version, e.join(",")));
      }
    }
  }
  const kind = str(pk.kind);
  if (kind === "") errs.push(fieldRequired(`${path}.kind`));
  else {
    const e = isDNS1035Label(kind.toLowerCase());
    if (e.length)
      errs.push(
        fieldInvalid(
          `${path}.kind`,
          kind,
          `may have mixed case, but should otherwise match: ${e.join(",")}`,
        ),
      );
  }
  return errs;
}

/** What of a policy's spec is checked without CEL. */
function validatePolicySpec(policy: KubeObject): FieldError[] {
  const spec: Obj = isObj((policy as Obj).spec) ? ((policy as Obj).spec as Obj) : {};
  const errs: FieldError[] = [];
  if (spec.failurePolicy === undefined) errs.push(fieldRequired("spec.failurePolicy"));
  else if (!FAILURE_POLICIES.includes(str(spec.failurePolicy)))
    errs.push(fieldNotSupported("spec.failurePolicy", spec.failurePolicy, FAILURE_POLICIES));
  if (isObj(spec.paramKind)) errs.push(...validateParamKind(spec.paramKind, "spec.paramKind"));
  if (!isObj(spec.matchConstraints)) errs.push(fieldRequired("spec.matchConstraints"));
  else {
    errs.push(...validateMatchResources(spec.matchConstraints, "spec.matchConstraints"));
    if (objs(spec.matchConstraints.resourceRules).length === 0)
      errs.push(fieldRequired("spec.matchConstraints.resourceRules"));
  }
  errs.push(...validateMatchConditions(spec.matchConditions, "spec.matchConditions"));
  objs(spec.variables).forEach((v, i) => {
    const p = `spec.variables[${i}]`;
    const name = str(v.name);
    if (name.trim() === "") errs.push(fieldRequired(`${p}.name`, "name is not specified"));
    else if (!CEL_IDENTIFIER.test(name))
      errs.push(fieldInvalid(`${p}.name`, name, "name is not a valid CEL identifier"));
    if (str(v.expression).trim() === "")
      errs.push(fieldRequired(`${p}.expression`, "expression is not specified"));
  });
  const validations = objs(spec.validations);
  const audits = objs(spec.auditAnnotations);
  if (validations.length === 0 && audits.length === 0) {
    const why = "validations or auditAnnotations must contain at least one item";
    errs.push(fieldRequired("spec.validations", why), fieldRequired("spec.auditAnnotations", why));
  }
  validations.forEach((v, i) => {
    const p = `spec.validations[${i}]`;
    if (str(v.expression).trim() === "")
      errs.push(fieldRequired(`${p}.expression`, "expression is not specified"));
    const me = str(v.messageExpression);
    if (me.length > 0 && me.trim() === "")
      errs.push(fieldInvalid(`${p}.messageExpression`, me, "must be non-empty if specified"));
    const message = str(v.message);
    if (message.length > 0 && message.trim() === "")
      errs.push(fieldInvalid(`${p}.message`, message, "message must be non-empty if specified"));
    else if (/[\n\r]/.test(message.trim()))
      errs.push(fieldInvalid(`${p}.message`, message, "message must not contain line breaks"));
    if (v.reason !== undefined && !REASONS.includes(str(v.reason)))
      errs.push(fieldNotSupported(`${p}.reason`, v.reason, [...REASONS].sort()));
  });
  if (audits.length > 20)
    errs.push(
      fieldInvalid("spec.auditAnnotations", audits, "must not have more than 20 auditAnnotations"),
    );
  const keys = new Set<string>();
  audits.forEach((a, i) => {
    const p = `spec.auditAnnotations[${i}]`;
    const key = str(a.key);
    for (const m of isQualifiedName(`${policy.metadata.name ?? ""}/${key}`))
      errs.push(fieldInvalid(`${p}.key`, `${policy.metadata.name ?? ""}/${key}`, m));
    if (keys.has(key)) errs.push(fieldDuplicate(`${p}.key`, key));
    keys.add(key);
    const ve = str(a.valueExpression).trim();
    if (ve === "")
      errs.push(fieldRequired(`${p}.valueExpression`, "valueExpression is not specified"));
    else if (ve.length > 5 * 1024)
      errs.push(fieldRequired(`${p}.valueExpression`, "must not exceed 5120 bytes in length"));
  });
  return errs;
}

function validateParamRef(pr: unknown, path: string): FieldError[] {
  if (!isObj(pr)) return [];
  const errs: FieldError[] = [];
  const name = str(pr.name);
  const hasSelector = isObj(pr.selector);
  if (name) {
    if (name === "." || name === "..")
      errs.push(fieldInvalid(`${path}.name`, name, `may not be '${name}'`));
    for (const bad of ["/", "%"])
      if (name.includes(bad))
        errs.push(fieldInvalid(`${path}.name`, name, `may not contain '${bad}'`));
    if (hasSelector)
      errs.push(fieldForbidden(`${path}.name`, "name and selector are mutually exclusive"));
  }
  if (hasSelector) {
    errs.push(...validateLabelSelector(pr.selector, `${path}.selector`));
    if (name)
      errs.push(fieldForbidden(`${path}.selector`, "name and selector are mutually exclusive"));
  }
  if (!name && !hasSelector)
    errs.push(fieldRequired(path, "one of name or selector must be specified"));
  const action = str(pr.parameterNotFoundAction);
  if (action === "") errs.push(fieldRequired(`${path}.parameterNotFoundAction`));
  else if (!NOT_FOUND_ACTIONS.includes(action))
    errs.push(fieldNotSupported(`${path}.parameterNotFoundAction`, action, NOT_FOUND_ACTIONS));
  return errs;
}

function validateBindingSpec(binding: KubeObject): FieldError[] {
  const spec: Obj = isObj((binding as Obj).spec) ? ((binding as Obj).spec as Obj) : {};
  const errs: FieldError[] = [];
  const policyName = str(spec.policyName);
  if (policyName === "") errs.push(fieldRequired("spec.policyName"));
  else
    for (const m of isDNS1123Subdomain(policyName))
      errs.push(fieldInvalid("spec.policyName", policyName, m));
  errs.push(...validateParamRef(spec.paramRef, "spec.paramRef"));
  // kube's path has this spelling.
  errs.push(...validateMatchResources(spec.matchResources, "spec.matchResouces"));
  const actions = arr(spec.validationActions).map(str);
  const seen = new Set<string>();
  actions.forEach((a, i) => {
    const p = `spec.validationActions[${i}]`;
    if (!ACTIONS.includes(a)) errs.push(fieldNotSupported(p, a, ACTIONS));
    if (seen.has(a)) errs.push(fieldDuplicate(p, a));
    seen.add(a);
  });
  if (seen.has("Deny") && seen.has("Warn"))
    errs.push(
      fieldInvalid(
        "spec.validationActions",
        actions,
        "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
      ),
    );
  if (seen.size === 0)
    errs.push(
      fieldRequired("spec.validationActions", "at least one validation action is required"),
    );
  return errs;
}

const specOf = (o: KubeObject): Obj => (isObj((o as Obj).spec) ? ((o as Obj).spec as Obj) : {});

export const validatingAdmissionPolicyStrategy: KindStrategy = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  kind: "ValidatingAdmissionPolicy",
  resource: "validatingadmissionpolicies",
  singular: "validatingadmissionpolicy",
  namespaced: false,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    const spec = (obj as Obj).spec;
    if (!isObj(spec)) return;
    setDefault(spec, "failurePolicy", "Fail");
    defaultMatchResources(spec.matchConstraints);
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsDNSSubdomain,
    spec: validatePolicySpec,
  }),
  columns: [
    NAME,
    column(
      "Validations",
      "integer",
      "Validations indicates the number of validation rules defined in this configuration",
    ),
    column(
      "ParamKind",
      "string",
      "ParamKind specifies the kind of resources used to parameterize this policy",
    ),
    AGE,
  ],
  row(obj, now) {
    const spec = specOf(obj);
    const pk = isObj(spec.paramKind) ? spec.paramKind : undefined;
    return [
      obj.metadata.name ?? "",
      objs(spec.validations).length,
      pk ? `${str(pk.apiVersion)}/${str(pk.kind)}` : "<unset>",
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};

export const validatingAdmissionPolicyBindingStrategy: KindStrategy = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  kind: "ValidatingAdmissionPolicyBinding",
  resource: "validatingadmissionpolicybindings",
  singular: "validatingadmissionpolicybinding",
  namespaced: false,
  hasGeneration: true,
  hasStatus: false,
  applyDefaults(obj) {
    const spec = (obj as Obj).spec;
    if (isObj(spec)) defaultMatchResources(spec.matchResources);
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsDNSSubdomain,
    spec: validateBindingSpec,
  }),
  columns: [
    NAME,
    column(
      "PolicyName",
      "string",
      "PolicyName indicates the policy definition which the policy binding binded to",
    ),
    column(
      "ParamRef",
      "string",
      "ParamRef indicates the param resource which sets the configration param",
    ),
    AGE,
  ],
  row(obj, now) {
    const spec = specOf(obj);
    let param = "<unset>";
    const pr = spec.paramRef;
    if (isObj(pr)) {
      if (str(pr.name)) param = `${str(pr.namespace) || "*"}/${str(pr.name)}`;
      else if (isObj(pr.selector)) param = selectorString(pr.selector);
    }
    return [
      obj.metadata.name ?? "",
      str(spec.policyName),
      param,
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
