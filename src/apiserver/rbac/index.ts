/**
 * Authorization as kube-apiserver's `--authorization-mode=Node,RBAC` does it: every HTTP request,
 * after authentication and impersonation, and every call of an in-process client that has an
 * identity (`authorizeCall`), is allowed when the Node authorizer allows it (nodes, `node.ts`),
 * its user is in `system:masters`, or an RBAC rule bound to them allows it; otherwise it gets
 * kube's 403. Also here: the escalation checks on RBAC writes, NodeRestriction admission, the
 * review APIs (`kubectl auth can-i`, `whoami`), and the bootstrap policy.
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
import type { Attributes } from "./_rules.ts";
import { requestAttributes } from "./attributes.ts";
import { type Authorizer, createAuthorizer } from "./authorizer.ts";
import { escalationAdmission } from "./escalation.ts";
import { forbidden } from "./forbidden.ts";
import { impersonate } from "./impersonation.ts";
import { createNodeAuthorizer } from "./node.ts";
import { nodeRestriction } from "./noderestriction.ts";

export { INGRESS_CONTROLLER_ACCOUNT, INGRESS_CONTROLLER_ROLE } from "./_policy.ts";
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
export { NODE_LEASE_NAMESPACE, NODES_GROUP, nodeOf } from "./node.ts";
export { serveReview, type TokenReviewer } from "./reviews.ts";

/** Subresources whose WebSocket GET also needs `create` (kube 1.32's exec/attach/portforward check). */
const STREAMING = new Set(["exec", "attach", "portforward"]);

export interface Rbac {
  authorizer: Authorizer;
  /** Escalation checks and NodeRestriction, in that order. */
  admission: Admission[];
  /** An in-process call's authorization: kube's 403 when refused, else undefined. */
  authorizeCall(user: UserInfo, attributes: Attributes): StatusError | undefined;
  /**
   * The user a request acts as after impersonation, or the StatusError that refuses it (400 bad
   * impersonation headers, 403 forbidden).
   */
  authorizeRequest(req: IncomingMessage, user: UserInfo, upgrade: boolean): UserInfo | StatusError;
  stop(): void;
}

export function createRbac(store: Store): Rbac {
  const cache = new PolicyCache(store);
  const authorizer = withNodeAuthorizer(createAuthorizer(cache), createNodeAuthorizer(store));
  return {
    authorizer,
    admission: [escalationAdmission(authorizer, cache), nodeRestriction()],
    authorizeCall(user, attributes) {
      const decision = authorizer.authorize(user, attributes);
      return decision.allowed ? undefined : forbidden(user.name, attributes, decision.reason);
    },
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
 * kube's union of `Node,RBAC`: the Node authorizer first (an allow ends it), then RBAC; a refusal
 * gives both reasons, the node's first.
 */
function withNodeAuthorizer(
  rbac: Authorizer,
  node: ReturnType<typeof createNodeAuthorizer>,
): Authorizer {
  return {
    authorize(user, attributes) {
      const first = node(user, attributes);
      if (first.decision === "allow") return { allowed: true, reason: "" };
      const second = rbac.authorize(user, attributes);
      if (second.allowed || !first.reason) return second;
      const reason = second.reason ? `${first.reason}\n${second.reason}` : first.reason;
      return { allowed: false, reason };
    },
    rulesFor: (user, namespace) => rbac.rulesFor(user, namespace),
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
