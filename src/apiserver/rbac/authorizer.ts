/**
 * kube's RBAC authorizer, preceded by its privileged-group check: a user in `system:masters` may
 * do everything; anyone else may do what a rule allows of a role bound to them — a
 * ClusterRoleBinding's ClusterRole anywhere, a RoleBinding's Role or ClusterRole in the binding's
 * namespace. A subject applies to a user by name (User), by group (Group), or as
 * `system:serviceaccount:<ns>:<name>` (ServiceAccount, its namespace defaulting to the binding's).
 * A binding whose role is missing is skipped, and named in the reason of a refusal
 * (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`), as kube reports it.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { UserInfo } from "../authn.ts";
import { type Attributes, type PolicyRule, ruleAllows } from "./_rules.ts";

export const MASTERS_GROUP = "system:masters";

/** Where the authorizer reads roles and bindings (a cache over the store, or a fixed set). */
export interface PolicySource {
  clusterRoleBindings(): readonly KubeObject[];
  roleBindings(namespace: string): readonly KubeObject[];
  clusterRole(name: string): KubeObject | undefined;
  role(namespace: string, name: string): KubeObject | undefined;
}

export interface Decision {
  allowed: boolean;
  /** Why: the binding that allowed it, or the errors met on the way to a refusal. */
  reason: string;
}

interface Subject {
  kind?: unknown;
  name?: unknown;
  namespace?: unknown;
}

function applies(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case "User":
      return subject.name === user.name;
    case "Group":
      return typeof subject.name === "string" && user.groups.includes(subject.name);
    case "ServiceAccount": {
      const ns =
        typeof subject.namespace === "string" && subject.namespace
          ? subject.namespace
          : bindingNamespace;
      return ns !== "" && user.name === `system:serviceaccount:${ns}:${String(subject.name)}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === "ServiceAccount") {
    const ns =
      typeof subject.namespace === "string" && subject.namespace
        ? subject.namespace
        : bindingNamespace;
    return `ServiceAccount ${JSON.stringify(`${String(subject.name)}/${ns}`)}`;
  }
  return `${String(subject.kind)} ${JSON.stringify(String(subject.name))}`;
}

/** Visits the rules that apply to `user` in `namespace` ("" = cluster-wide only); stops when `visit` returns true. */
export function visitRules(
  source: PolicySource,
  user: UserInfo,
  namespace: string,
  visit: (rule: PolicyRule, source: () => string) => boolean,
  onError: (message: string) => void,
): boolean {
  const walk = (binding: KubeObject, ns: string): boolean => {
    const subjects = Array.isArray(binding.subjects) ? (binding.subjects as Subject[]) : [];
    const subject = subjects.find((s) => s && applies(s, user, ns));
    if (!subject) return false;
    const ref = (binding.roleRef ?? {}) as { kind?: string; name?: string };
    const name = ref.name ?? "";
    const role = ref.kind === "Role" ? source.role(ns, name) : source.clusterRole(name);
    if (!role) {
      onError(
        `${ref.kind === "Role" ? "role" : "clusterrole"}.rbac.authorization.k8s.io ${JSON.stringify(name)} not found`,
      );
      return false;
    }
    const rules = Array.isArray(role.rules) ? (role.rules as PolicyRule[]) : [];
    const describe = () => {
      const bindingName = ns ? `${binding.metadata.name}/${ns}` : String(binding.metadata.name);
      return `${ns ? "RoleBinding" : "ClusterRoleBinding"} ${JSON.stringify(bindingName)} of ${ref.kind} ${JSON.stringify(name)} to ${describeSubject(subject, ns)}`;
    };
    for (const rule of rules) if (rule && visit(rule, describe)) return true;
    return false;
  };
  for (const binding of source.clusterRoleBindings()) if (walk(binding, "")) return true;
  if (namespace !== "") {
    for (const binding of source.roleBindings(namespace)) if (walk(binding, namespace)) return true;
  }
  return false;
}

function aggregate(errors: string[]): string {
  if (errors.length === 0) return "";
  return `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}`;
}

export interface Authorizer {
  authorize(user: UserInfo, attributes: Attributes): Decision;
  /** Every rule that applies to `user` in `namespace`, and the errors met (SelfSubjectRulesReview). */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] };
}

export function createAuthorizer(source: PolicySource): Authorizer {
  return {
    authorize(user, attributes) {
      if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: "" };
      const errors: string[] = [];
      let reason = "";
      const allowed = visitRules(
        source,
        user,
        attributes.namespace,
        (rule, describe) => {
          if (!ruleAllows(rule, attributes)) return false;
          reason = `RBAC: allowed by ${describe()}`;
          return true;
        },
        (e) => errors.push(e),
      );
      return allowed ? { allowed, reason } : { allowed, reason: aggregate(errors) };
    },
    rulesFor(user, namespace) {
      const rules: PolicyRule[] = [];
      const errors: string[] = [];
      if (user.groups.includes(MASTERS_GROUP)) {
        rules.push(
          { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
          { nonResourceURLs: ["*"], verbs: ["*"] },
        );
      }
      visitRules(
        source,
        user,
        namespace,
        (rule) => {
          rules.push(rule);
          return false;
        },
        (e) => errors.push(e),
      );
      return { rules, errors };
    },
  };
}
