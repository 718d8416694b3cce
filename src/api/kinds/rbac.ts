/**
 * `rbac.authorization.k8s.io/v1` Role, ClusterRole, RoleBinding and ClusterRoleBinding, as
 * kube-apiserver serves them: names are path segments; a rule needs verbs, and either
 * non-resource URLs (cluster roles only, never beside resources) or API groups and resources; a
 * ClusterRole's aggregationRule needs a selector; a binding's roleRef defaults its apiGroup, names
 * a Role or ClusterRole (only ClusterRole from a ClusterRoleBinding) and never changes; subjects
 * are User, Group (apiGroup `rbac.authorization.k8s.io`, defaulted) or ServiceAccount (apiGroup
 * "", a namespace required in cluster bindings). Columns are 1.32's: roles NAME, CREATED AT;
 * bindings NAME, ROLE, AGE and, wide, USERS, GROUPS, SERVICEACCOUNTS.
 *
 * The authorizer that reads these objects, and the escalation checks on writes, live in the API
 * server (`src/apiserver/rbac/`).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { validateLabelSelector } from "./_selector.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, isObj, type Obj, objs, str } from "./_util.ts";
import { nameIsDNSSubdomain, nameIsPathSegment } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

const CREATED_AT = (what: string) =>
  column("Created At", "date", `Time when this ${what} was created`);

function strings(v: unknown): string[] {
  return arr(v).filter((s): s is string => typeof s === "string");
}

function goStrings(list: string[]): string {
  return `[]string{${list.map((s) => JSON.stringify(s)).join(", ")}}`;
}

/** ValidatePolicyRule. */
function validateRule(rule: Obj, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (strings(rule.verbs).length === 0) {
    errs.push(fieldRequired(`${path}.verbs`, "verbs must contain at least one value"));
  }
  const urls = strings(rule.nonResourceURLs);
  if (urls.length > 0) {
    const field = `${path}.nonResourceURLs`;
    if (namespaced) {
      errs.push(
        invalidRaw(field, goStrings(urls), "namespaced rules cannot apply to non-resource URLs"),
      );
    }
    if (
      arr(rule.apiGroups).length > 0 ||
      arr(rule.resources).length > 0 ||
      arr(rule.resourceNames).length > 0
    ) {
      errs.push(
        invalidRaw(
          field,
          goStrings(urls),
          "rules cannot apply to both regular resources and non-resource URLs",
        ),
      );
    }
    return errs;
  }
  if (arr(rule.apiGroups).length === 0) {
    errs.push(
      fieldRequired(`${path}.apiGroups`, "resource rules must supply at least one api group"),
    );
  }
  if (arr(rule.resources).length === 0) {
    errs.push(
      fieldRequired(`${path}.resources`, "resource rules must supply at least one resource"),
    );
  }
  return errs;
}

/** field.Invalid with a value already in Go's %#v form. */
function invalidRaw(field: string, goValue: string, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: `Invalid value: ${goValue}: ${detail}` };
}

function validateRules(obj: KubeObject, namespaced: boolean): FieldError[] {
  return objs(obj.rules).flatMap((rule, i) => validateRule(rule, namespaced, `rules[${i}]`));
}

function validateAggregation(obj: KubeObject): FieldError[] {
  if (!isObj(obj.aggregationRule)) return [];
  const selectors = arr(obj.aggregationRule.clusterRoleSelectors);
  if (selectors.length === 0) {
    return [
      fieldRequired(
        "aggregationRule.clusterRoleSelectors",
        "at least one clusterRoleSelector required if aggregationRule is non-nil",
      ),
    ];
  }
  return selectors.flatMap((s, i) =>
    validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`),
  );
}

function defaultBinding(obj: KubeObject): void {
  if (isObj(obj.roleRef) && !obj.roleRef.apiGroup) obj.roleRef.apiGroup = RBAC_GROUP;
  for (const s of objs(obj.subjects)) {
    if (s.apiGroup === undefined || s.apiGroup === null || s.apiGroup === "") {
      if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC_GROUP;
      else if (s.kind === "ServiceAccount") s.apiGroup = "";
    }
  }
}

function validateSubject(s: Obj, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(s.name);
  if (name === "") errs.push(fieldRequired(`${path}.name`));
  const apiGroup = str(s.apiGroup);
  switch (s.kind) {
    case "ServiceAccount":
      if (name !== "") {
        for (const why of nameIsDNSSubdomain(name, false)) {
          errs.push(fieldInvalid(`${path}.name`, name, why));
        }
      }
      if (apiGroup !== "") errs.push(fieldNotSupported(`${path}.apiGroup`, apiGroup, [""]));
      if (!namespaced && str(s.namespace) === "") errs.push(fieldRequired(`${path}.namespace`));
      break;
    case "User":
    case "Group":
      if (apiGroup !== RBAC_GROUP) {
        errs.push(fieldNotSupported(`${path}.apiGroup`, apiGroup, [RBAC_GROUP]));
      }
      break;
    default:
      errs.push(
        fieldNotSupported(`${path}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]),
      );
  }
  return errs;
}

function validateBinding(obj: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = isObj(obj.roleRef) ? obj.roleRef : {};
  if (str(ref.apiGroup) !== RBAC_GROUP) {
    errs.push(fieldNotSupported("roleRef.apiGroup", str(ref.apiGroup), [RBAC_GROUP]));
  }
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(str(ref.kind)))
    errs.push(fieldNotSupported("roleRef.kind", str(ref.kind), kinds));
  const name = str(ref.name);
  if (name === "") errs.push(fieldRequired("roleRef.name"));
  else
    for (const why of nameIsPathSegment(name, false))
      errs.push(fieldInvalid("roleRef.name", name, why));
  objs(obj.subjects).forEach((s, i) => {
    errs.push(...validateSubject(s, namespaced, `subjects[${i}]`));
  });
  return errs;
}

function validateRoleRefUnchanged(obj: KubeObject, old: KubeObject): FieldError[] {
  const ref = isObj(obj.roleRef) ? obj.roleRef : {};
  const was = isObj(old.roleRef) ? old.roleRef : {};
  if (
    str(ref.apiGroup) === str(was.apiGroup) &&
    str(ref.kind) === str(was.kind) &&
    str(ref.name) === str(was.name)
  ) {
    return [];
  }
  const go = `rbac.RoleRef{APIGroup:${JSON.stringify(str(ref.apiGroup))}, Kind:${JSON.stringify(str(ref.kind))}, Name:${JSON.stringify(str(ref.name))}}`;
  return [invalidRaw("roleRef", go, "cannot change roleRef")];
}

/** The USERS, GROUPS and SERVICEACCOUNTS cells of a binding (rbac.SubjectsStrings). */
function subjectCells(obj: KubeObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const accounts: string[] = [];
  for (const s of objs(obj.subjects)) {
    if (s.kind === "User") users.push(str(s.name));
    else if (s.kind === "Group") groups.push(str(s.name));
    else if (s.kind === "ServiceAccount") {
      accounts.push(`${str(s.namespace)}/${str(s.name)}`);
    }
  }
  return [users.join(", "), groups.join(", "), accounts.join(", ")];
}

function bindingColumns(role: string) {
  return [
    NAME,
    column(
      "Role",
      "string",
      `${role} this ${role === "Role" ? "RoleBinding" : "ClusterRoleBinding"} references`,
    ),
    AGE,
    column(
      "Users",
      "string",
      `Users in the ${role === "Role" ? "roleBinding" : "clusterRoleBinding"}`,
      1,
    ),
    column(
      "Groups",
      "string",
      `Groups in the ${role === "Role" ? "roleBinding" : "clusterRoleBinding"}`,
      1,
    ),
    column(
      "ServiceAccounts",
      "string",
      `ServiceAccounts in the ${role === "Role" ? "roleBinding" : "clusterRoleBinding"}`,
      1,
    ),
  ];
}

function bindingRow(obj: KubeObject, now: number): unknown[] {
  const ref = isObj(obj.roleRef) ? obj.roleRef : {};
  return [
    obj.metadata.name ?? "",
    `${str(ref.kind)}/${str(ref.name)}`,
    sinceTimestamp(obj.metadata.creationTimestamp, now),
    ...subjectCells(obj),
  ];
}

const base = { group: RBAC_GROUP, version: "v1", hasGeneration: false, hasStatus: false } as const;

export const roleStrategy: KindStrategy = {
  ...base,
  kind: "Role",
  resource: "roles",
  singular: "role",
  namespaced: true,
  applyDefaults() {},
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsPathSegment,
    spec: (obj) => validateRules(obj, true),
  }),
  columns: [NAME, CREATED_AT("Role")],
  row: (obj) => [obj.metadata.name ?? "", obj.metadata.creationTimestamp ?? null],
};

export const clusterRoleStrategy: KindStrategy = {
  ...base,
  kind: "ClusterRole",
  resource: "clusterroles",
  singular: "clusterrole",
  namespaced: false,
  applyDefaults() {},
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsPathSegment,
    spec: (obj) => [...validateRules(obj, false), ...validateAggregation(obj)],
  }),
  columns: [NAME, CREATED_AT("ClusterRole")],
  row: (obj) => [obj.metadata.name ?? "", obj.metadata.creationTimestamp ?? null],
};

export const roleBindingStrategy: KindStrategy = {
  ...base,
  kind: "RoleBinding",
  resource: "rolebindings",
  singular: "rolebinding",
  namespaced: true,
  applyDefaults: defaultBinding,
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsPathSegment,
    spec: (obj) => validateBinding(obj, true),
    update: validateRoleRefUnchanged,
  }),
  columns: bindingColumns("Role"),
  row: bindingRow,
};

export const clusterRoleBindingStrategy: KindStrategy = {
  ...base,
  kind: "ClusterRoleBinding",
  resource: "clusterrolebindings",
  singular: "clusterrolebinding",
  namespaced: false,
  applyDefaults: defaultBinding,
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsPathSegment,
    spec: (obj) => validateBinding(obj, false),
    update: validateRoleRefUnchanged,
  }),
  columns: bindingColumns("ClusterRole"),
  row: bindingRow,
};
