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
  /**
   * Optional index: the bindings of a scope ("" for ClusterRoleBindings) that name the user or
   * one of its groups, in list order. Without it every binding of the scope is checked.
   */
  bindingsFor?(namespace: string, user: UserInfo): readonly KubeObject[];
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

/**
 * Each binding's subjects by user name (User subjects, and ServiceAccount subjects as
 * `system:serviceaccount:<ns>:<name>`) and by group, computed once per binding object: a decision
 * then costs a map lookup per group per binding, with no allocation.
 */
interface SubjectIndex {
  users: Map<string, Subject>;
  groups: Map<string, Subject>;
}
const subjectIndex = new WeakMap<KubeObject, SubjectIndex>();

function indexOf(binding: KubeObject, bindingNamespace: string): SubjectIndex {
  let index = subjectIndex.get(binding);
  if (index) return index;
  index = { users: new Map(), groups: new Map() };
  const subjects = Array.isArray(binding.subjects) ? (binding.subjects as Subject[]) : [];
  for (const s of subjects) {
    if (!s || typeof s.name !== "string") continue;
    if (s.kind === "User") {
      if (!index.users.has(s.name)) index.users.set(s.name, s);
    } else if (s.kind === "Group") {
      if (!index.groups.has(s.name)) index.groups.set(s.name, s);
    } else if (s.kind === "ServiceAccount") {
      const ns = typeof s.namespace === "string" && s.namespace ? s.namespace : bindingNamespace;
      const name = `system:serviceaccount:${ns}:${s.name}`;
      if (ns !== "" && !index.users.has(name)) index.users.set(name, s);
    }
  }
  subjectIndex.set(binding, index);
  return index;
}

/** The first subject of `binding` that applies to `user`, as kube's appliesTo decides. */
function matchingSubject(
  binding: KubeObject,
  user: UserInfo,
  bindingNamespace: string,
): Subject | undefined {
  const index = indexOf(binding, bindingNamespace);
  const byName = index.users.get(user.name);
  if (byName) return byName;
  if (index.groups.size === 0) return undefined;
  for (const group of user.groups) {
    const byGroup = index.groups.get(group);
    if (byGroup) return byGroup;
  }
  return undefined;
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
    const subject = matchingSubject(binding, user, ns);
    if (!subject) return false;
    const ref = (binding.roleRef ?? {}) as { kind?: string; name?: string };
    const name = ref.name ?? "";
    const role = ref.kind === "Role" ? source.role(ns, name) : source.clusterRole(name);
    if (!role) {
      onError(missingRole(ref.kind, name));
      return false;
    }
    const rules = Array.isArray(role.rules) ? (role.rules as PolicyRule[]) : [];
    const describe = () => describeBinding(binding, ns, ref, subject);
    for (const rule of rules) if (rule && visit(rule, describe)) return true;
    return false;
  };
  for (const binding of source.clusterRoleBindings()) if (walk(binding, "")) return true;
  if (namespace !== "") {
    for (const binding of source.roleBindings(namespace)) if (walk(binding, namespace)) return true;
  }
  return false;
}

function missingRole(kind: string | undefined, name: string): string {
  const resource = kind === "Role" ? "role" : "clusterrole";
  return `${resource}.rbac.authorization.k8s.io ${JSON.stringify(name)} not found`;
}

function describeBinding(
  binding: KubeObject,
  ns: string,
  ref: { kind?: string; name?: string },
  subject: Subject,
): string {
  const bindingName = ns ? `${binding.metadata.name}/${ns}` : String(binding.metadata.name);
  const kind = ns ? "RoleBinding" : "ClusterRoleBinding";
  return `${kind} ${JSON.stringify(bindingName)} of ${ref.kind} ${JSON.stringify(ref.name ?? "")} to ${describeSubject(subject, ns)}`;
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
      const check = (binding: KubeObject, ns: string): string | undefined => {
        const subject = matchingSubject(binding, user, ns);
        if (!subject) return undefined;
        const ref = (binding.roleRef ?? {}) as { kind?: string; name?: string };
        const name = ref.name ?? "";
        const role = ref.kind === "Role" ? source.role(ns, name) : source.clusterRole(name);
        if (!role) {
          errors.push(missingRole(ref.kind, name));
          return undefined;
        }
        const rules = Array.isArray(role.rules) ? (role.rules as PolicyRule[]) : [];
        for (const rule of rules) {
          if (rule && ruleAllows(rule, attributes)) {
            return `RBAC: allowed by ${describeBinding(binding, ns, ref, subject)}`;
          }
        }
        return undefined;
      };
      const crbs = source.bindingsFor?.("", user) ?? source.clusterRoleBindings();
      for (const binding of crbs) {
        const reason = check(binding, "");
        if (reason) return { allowed: true, reason };
      }
      if (attributes.namespace !== "") {
        const ns = attributes.namespace;
        for (const binding of source.bindingsFor?.(ns, user) ?? source.roleBindings(ns)) {
          const reason = check(binding, attributes.namespace);
          if (reason) return { allowed: true, reason };
        }
      }
      return { allowed: false, reason: aggregate(errors) };
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
