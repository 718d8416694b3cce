/**
 * RBAC's escalation prevention, as kube's rbac REST storage enforces it on every create and update
 * (patches included: the check sees the object the write would store):
 * - a Role or ClusterRole may hold only rules its writer holds (in the role's namespace), unless
 *   the writer may `escalate` roles/clusterroles;
 * - a binding may grant only a role whose rules its writer holds (in the binding's namespace),
 *   unless the writer may `bind` that role (resource roles/clusterroles, `resourceNames` its name).
 * - a ClusterRole may get, change or lose an `aggregationRule` only by an `escalate` holder
 *   (kube's "must have cluster-admin privileges to use the aggregationRule").
 * `system:masters` and loopkube's own in-process writers (no request user) skip the check. The
 * refusal is kube's: `… is forbidden: user "alice" (groups=["system:authenticated"]) is attempting
 * to grant RBAC permissions not currently held:` followed by the missing rules, one a line.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { KubeObject } from "../../api/types.ts";
import type { UserInfo } from "../authn.ts";
import type { Admission } from "../registry/index.ts";
import type { ResourceInfo } from "../resources.ts";
import { uncovered } from "./_covers.ts";
import type { Attributes, PolicyRule } from "./_rules.ts";
import { type Authorizer, MASTERS_GROUP, type PolicySource } from "./authorizer.ts";
import { forbiddenError } from "./forbidden.ts";

const GROUP = "rbac.authorization.k8s.io";

/** The user of the request being served (set around the handler; absent for in-process writes). */
export const requestingUser = new AsyncLocalStorage<UserInfo>();

function allowed(authorizer: Authorizer, user: UserInfo, over: Partial<Attributes>): boolean {
  return authorizer.authorize(user, {
    verb: "",
    resourceRequest: true,
    path: "",
    apiGroup: GROUP,
    apiVersion: "v1",
    resource: "",
    subresource: "",
    namespace: "",
    name: "",
    ...over,
  }).allowed;
}

function refuse(
  info: ResourceInfo,
  obj: KubeObject,
  user: UserInfo,
  missing: string[],
  errors: string[],
): never {
  let why = `user ${JSON.stringify(user.name)} (groups=[${user.groups.map((g) => JSON.stringify(g)).join(" ")}]) is attempting to grant RBAC permissions not currently held:\n${missing.join("\n")}`;
  if (errors.length > 0) why += `; resolution errors: [${errors.join(" ")}]`;
  throw forbiddenError(info.group, info.resource, obj.metadata.name ?? "", why);
}

function rulesOf(obj: KubeObject | undefined): PolicyRule[] {
  return obj && Array.isArray(obj.rules) ? (obj.rules as PolicyRule[]) : [];
}

function check(
  info: ResourceInfo,
  obj: KubeObject,
  old: KubeObject | undefined,
  authorizer: Authorizer,
  source: PolicySource,
): void {
  const user = requestingUser.getStore();
  if (!user || user.groups.includes(MASTERS_GROUP)) return;
  const namespace = info.namespaced ? (obj.metadata.namespace ?? "") : "";
  const name = obj.metadata.name ?? "";
  let wanted: PolicyRule[];
  if (info.resource === "roles" || info.resource === "clusterroles") {
    if (allowed(authorizer, user, { verb: "escalate", resource: info.resource, namespace, name }))
      return;
    // An aggregated role takes whatever rules its selectors gather: only escalate holders.
    if (info.resource === "clusterroles" && aggregationChanged(obj, old)) {
      throw forbiddenError(
        info.group,
        info.resource,
        name,
        "must have cluster-admin privileges to use the aggregationRule",
      );
    }
    wanted = rulesOf(obj);
  } else {
    const ref = (obj.roleRef ?? {}) as { kind?: string; name?: string };
    const roleResource = ref.kind === "Role" ? "roles" : "clusterroles";
    const refName = ref.name ?? "";
    if (
      allowed(authorizer, user, { verb: "bind", resource: roleResource, namespace, name: refName })
    )
      return;
    const role =
      ref.kind === "Role" ? source.role(namespace, refName) : source.clusterRole(refName);
    if (!role) {
      throw forbiddenError(
        info.group,
        info.resource,
        name,
        `${ref.kind === "Role" ? "role" : "clusterrole"}.rbac.authorization.k8s.io ${JSON.stringify(refName)} not found`,
      );
    }
    wanted = rulesOf(role);
  }
  const held = authorizer.rulesFor(user, namespace);
  const missing = uncovered(held.rules, wanted);
  if (missing.length > 0) refuse(info, obj, user, missing, held.errors);
}

/** kube's check: a create with an aggregationRule, an update adding, changing or dropping one. */
function aggregationChanged(obj: KubeObject, old: KubeObject | undefined): boolean {
  const now = obj.aggregationRule ?? null;
  if (!old) return now !== null;
  const before = old.aggregationRule ?? null;
  if (now === null && before === null) return false;
  return JSON.stringify(now) !== JSON.stringify(before);
}

const RBAC_RESOURCES = new Set(["roles", "clusterroles", "rolebindings", "clusterrolebindings"]);

/** The admission step that refuses escalation through RBAC objects. */
export function escalationAdmission(authorizer: Authorizer, source: PolicySource): Admission {
  return {
    create(info, obj) {
      if (info.group === GROUP && RBAC_RESOURCES.has(info.resource))
        check(info, obj, undefined, authorizer, source);
      return undefined;
    },
    update(info, obj, old) {
      if (info.group === GROUP && RBAC_RESOURCES.has(info.resource))
        check(info, obj, old, authorizer, source);
      return undefined;
    },
  };
}
