/**
 * Authorization as kube-apiserver's `--authorization-mode=Node,RBAC` does it, minus the Node
 * authorizer (loopkube's node agent works in-process): every HTTP request, after authentication
 * and impersonation, is allowed only when its user is in `system:masters` or an RBAC rule bound
 * to them allows it; otherwise it gets kube's 403. Also here: the escalation checks on RBAC
 * writes, the review APIs (`kubectl auth can-i`, `whoami`), and the bootstrap policy.
 *
 * loopkube's own components use the in-process client, which does not pass here.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { isStatusError, StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { UserInfo } from "../authn.ts";
import type { Admission, Registry } from "../registry/index.ts";
import { PolicyCache } from "./_cache.ts";
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./_policy.ts";
import { type Reconciled, reconcileBinding, reconcileRole } from "./_reconcile.ts";
import { requestAttributes } from "./attributes.ts";
import { type Authorizer, createAuthorizer } from "./authorizer.ts";
import { escalationAdmission } from "./escalation.ts";
import { forbidden } from "./forbidden.ts";
import { impersonate } from "./impersonation.ts";

export type { Attributes, PolicyRule } from "./_rules.ts";
export { ruleAllows } from "./_rules.ts";
export { aggregatedRules, startAggregation } from "./aggregation.ts";
export { requestAttributes } from "./attributes.ts";
export {
  type Authorizer,
  createAuthorizer,
  MASTERS_GROUP,
  type PolicySource,
} from "./authorizer.ts";
export { requestingUser } from "./escalation.ts";
export { forbidden, forbiddenMessage } from "./forbidden.ts";
export { serveReview, type TokenReviewer } from "./reviews.ts";

/** Subresources whose WebSocket GET also needs `create` (kube 1.32's exec/attach/portforward check). */
const STREAMING = new Set(["exec", "attach", "portforward"]);

export interface Rbac {
  authorizer: Authorizer;
  admission: Admission;
  /**
   * The user a request acts as after impersonation, or the StatusError that refuses it (400 bad
   * impersonation headers, 403 forbidden).
   */
  authorizeRequest(req: IncomingMessage, user: UserInfo, upgrade: boolean): UserInfo | StatusError;
  stop(): void;
}

export function createRbac(store: Store): Rbac {
  const cache = new PolicyCache(store);
  const authorizer = createAuthorizer(cache);
  return {
    authorizer,
    admission: escalationAdmission(authorizer, cache),
    authorizeRequest(req, requester, upgrade) {
      const user = impersonate(req, requester, authorizer);
      if (user instanceof StatusError) return user;
      const attributes = requestAttributes(req.method ?? "GET", req.url ?? "/");
      const decision = authorizer.authorize(user, attributes);
      if (!decision.allowed) return forbidden(user.name, attributes, decision.reason);
      if (upgrade && attributes.resource === "pods" && STREAMING.has(attributes.subresource)) {
        const create = { ...attributes, verb: "create" };
        const second = authorizer.authorize(user, create);
        if (!second.allowed) return forbidden(user.name, create, second.reason);
      }
      return user;
    },
    stop: () => cache.stop(),
  };
}

/**
 * Creates the bootstrap ClusterRoles and ClusterRoleBindings that are missing and reconciles the
 * existing ones, as kube-apiserver's `rbac/bootstrap-roles` hook does at each start: objects
 * annotated `autoupdate: "true"` get missing rules, subjects, labels and annotations and keep
 * extra ones (`_reconcile.ts`).
 */
export function ensureBootstrapPolicy(registry: Registry): void {
  const ensure = (
    resource: string,
    objects: KubeObject[],
    reconcile: (existing: KubeObject, expected: KubeObject) => Reconciled,
  ) => {
    const ref = { group: "rbac.authorization.k8s.io", version: "v1", resource };
    for (const obj of objects) {
      const name = obj.metadata.name ?? "";
      let existing: KubeObject | undefined;
      try {
        existing = registry.getSync(ref, "", name);
      } catch (e) {
        if (!isStatusError(e, "NotFound")) throw e;
      }
      if (!existing) {
        registry.createSync(ref, "", obj);
        continue;
      }
      const result = reconcile(existing, obj);
      if (result.action === "update") registry.updateSync(ref, "", result.object);
      else if (result.action === "recreate") {
        registry.deleteSync(ref, "", name);
        registry.createSync(ref, "", result.object);
      }
    }
  };
  ensure("clusterroles", bootstrapClusterRoles(), reconcileRole);
  ensure("clusterrolebindings", bootstrapClusterRoleBindings(), reconcileBinding);
}
