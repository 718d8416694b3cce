/**
 * Authentication by service-account token, as kube-apiserver's JWT token authenticator and its
 * service-account validator do it. A token is ours when it is a compact JWS whose `iss` is our
 * issuer (anything else is left to the next authenticator). Ours is accepted when its signature
 * verifies with one of our keys, one of its audiences is one of the API server's, it is within
 * its `nbf`/`exp` (60 s leeway), its ServiceAccount still exists with the uid it names, and the
 * object it is bound to (pod, secret or node) still exists with its uid; anything marked deleted
 * more than 60 s ago counts as gone. The user is `system:serviceaccount:<ns>:<name>` in the groups
 * `system:serviceaccounts` and `system:serviceaccounts:<ns>`, with the pod, node and credential id
 * in `extra` as kube puts them.
 *
 * Legacy tokens (issuer `kubernetes/serviceaccount`, kept in Secrets) are another
 * authenticator's (`legacy.ts`).
 *
 * @module
 */
import { serviceAccountGroups, serviceAccountUser } from "../../api/serviceaccount.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { TokenAuthenticator, UserInfo } from "../authn.ts";
import { findResource, storeKey } from "../resources.ts";
import { LEEWAY_SECONDS, type PrivateClaims, timeError } from "./_claims.ts";
import { unverifiedClaims, verifyJws } from "./_jwt.ts";
import type { ServiceAccountIssuer } from "./issuer.ts";

type Refusal = { error: string };

function deletedLongAgo(obj: KubeObject, now: Date): boolean {
  const at = obj.metadata.deletionTimestamp;
  return at !== undefined && Date.parse(String(at)) < now.getTime() - LEEWAY_SECONDS * 1000;
}

function audiences(claims: Record<string, unknown>): string[] {
  const aud = claims.aud;
  if (typeof aud === "string") return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
}

function checkBound(
  get: (resource: string, namespace: string, name: string) => KubeObject | undefined,
  what: "pod" | "secret" | "node",
  ref: { name?: string; uid?: string },
  namespace: string,
  now: Date,
): Refusal | undefined {
  const resource = `${what}s`;
  const obj = get(resource, what === "node" ? "" : namespace, ref.name ?? "");
  if (!obj) return { error: "service account token has been invalidated" };
  if (obj.metadata.uid !== ref.uid) {
    return {
      error: `${what} UID (${obj.metadata.uid}) does not match service account ${what} ref claim (${ref.uid})`,
    };
  }
  if (deletedLongAgo(obj, now)) return { error: "service account token has been invalidated" };
  return undefined;
}

/** The token authenticator of `issuer`'s tokens, checking bound objects in `store`. */
export function serviceAccountTokens(
  issuer: ServiceAccountIssuer,
  store: Pick<Store, "get">,
): TokenAuthenticator {
  const get = (resource: string, namespace: string, name: string) => {
    const info = findResource("", resource);
    return info ? store.get(storeKey(info, namespace, name)) : undefined;
  };
  return (token) => {
    const unverified = unverifiedClaims(token);
    if (!unverified || unverified.iss !== issuer.issuer) return undefined;
    const verified = verifyJws(token, issuer.verifyingKeys);
    if (!verified.ok) return { error: verified.error };
    const claims = verified.claims;
    const tokenAudiences = audiences(claims);
    if (!tokenAudiences.some((a) => issuer.audiences.includes(a))) {
      return {
        error: `token audiences ${JSON.stringify(tokenAudiences)} is invalid for the target audiences ${JSON.stringify(issuer.audiences)}`,
      };
    }
    const now = issuer.now();
    const late = timeError(claims, now);
    if (late) return { error: late };
    const k8s = claims["kubernetes.io"] as PrivateClaims | undefined;
    const namespace = k8s?.namespace ?? "";
    const sa = k8s?.serviceaccount;
    if (!k8s || !namespace || !sa?.name)
      return { error: "service account token claims are missing" };
    const account = get("serviceaccounts", namespace, sa.name);
    if (!account) return { error: `serviceaccounts "${sa.name}" not found` };
    if (account.metadata.uid !== sa.uid) {
      return {
        error: `service account UID (${account.metadata.uid}) does not match claim (${sa.uid})`,
      };
    }
    if (deletedLongAgo(account, now)) {
      return { error: `service account ${namespace}/${sa.name} has been deleted` };
    }
    for (const what of ["secret", "pod"] as const) {
      const ref = k8s[what];
      if (!ref) continue;
      const refused = checkBound(get, what, ref, namespace, now);
      if (refused) return refused;
    }
    if (k8s.node && !k8s.pod) {
      const refused = checkBound(get, "node", k8s.node, namespace, now);
      if (refused) return refused;
    }
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      extra["authentication.kubernetes.io/pod-name"] = [k8s.pod.name];
      extra["authentication.kubernetes.io/pod-uid"] = [k8s.pod.uid];
    }
    if (k8s.node) {
      extra["authentication.kubernetes.io/node-name"] = [k8s.node.name];
      if (k8s.node.uid) extra["authentication.kubernetes.io/node-uid"] = [k8s.node.uid];
    }
    if (typeof claims.jti === "string" && claims.jti) {
      extra["authentication.kubernetes.io/credential-id"] = [`JTI=${claims.jti}`];
    }
    const user: UserInfo = {
      name: serviceAccountUser(namespace, sa.name),
      uid: sa.uid,
      groups: serviceAccountGroups(namespace),
    };
    if (Object.keys(extra).length > 0) user.extra = extra;
    return { user };
  };
}
