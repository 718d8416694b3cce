/**
 * Legacy Secret-based service-account tokens, as kube 1.32 keeps them (`pkg/serviceaccount`'s
 * legacy claims and validator). The token controller signs, with the service-account key, a JWT
 * of issuer `kubernetes/serviceaccount`, no audience and no expiry, whose claims name the
 * namespace, the Secret and the ServiceAccount (`kubernetes.io/serviceaccount/...`).
 *
 * Such a token authenticates as its ServiceAccount only while its Secret exists, is not being
 * deleted, still holds that very token and carries no `legacy-token-invalid-since` label, and
 * while the ServiceAccount exists with the uid the token names. Each use stamps the Secret with
 * the label `kubernetes.io/legacy-token-last-used: <YYYY-MM-DD>` (UTC) unless it already says
 * today, so at most once a day per Secret, as kube's tracking does.
 *
 * @module
 */
import {
  LEGACY_ISSUER,
  LEGACY_TOKEN_INVALID_SINCE_LABEL,
  LEGACY_TOKEN_LAST_USED_LABEL,
  type LegacyTokenSigner,
  type LegacyTokenSubject,
  serviceAccountGroups,
  serviceAccountUser,
} from "../../api/serviceaccount.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { TokenAuthenticator } from "../authn.ts";
import { findResource, storeKey } from "../resources.ts";
import { signJws, unverifiedClaims, verifyJws } from "./_jwt.ts";
import type { ServiceAccountIssuer } from "./issuer.ts";

const CLAIM = {
  namespace: "kubernetes.io/serviceaccount/namespace",
  secretName: "kubernetes.io/serviceaccount/secret.name",
  serviceAccountName: "kubernetes.io/serviceaccount/service-account.name",
  serviceAccountUid: "kubernetes.io/serviceaccount/service-account.uid",
} as const;

/** kube's legacy claims for `subject`. */
export function legacyClaims(subject: LegacyTokenSubject): Record<string, string> {
  return {
    iss: LEGACY_ISSUER,
    [CLAIM.namespace]: subject.namespace,
    [CLAIM.secretName]: subject.secretName,
    [CLAIM.serviceAccountName]: subject.serviceAccountName,
    [CLAIM.serviceAccountUid]: subject.serviceAccountUid,
    sub: serviceAccountUser(subject.namespace, subject.serviceAccountName),
  };
}

/** The signer the token controller is given: `issuer`'s key over {@link legacyClaims}. */
export function legacyTokenSigner(issuer: ServiceAccountIssuer): LegacyTokenSigner {
  return (subject) => signJws(issuer.key, legacyClaims(subject));
}

/** The day `now` falls on in UTC, as the last-used label holds it (Go's `2006-01-02`). */
export function usedDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

const MISSING: Record<keyof typeof CLAIM, string> = {
  namespace: "namespace claim is missing",
  secretName: "secretName claim is missing",
  serviceAccountName: "serviceAccountName claim is missing",
  serviceAccountUid: "serviceAccountUID claim is missing",
};

/** The token authenticator of legacy tokens signed by `issuer`'s keys, looked up in `store`. */
export function legacyServiceAccountTokens(
  issuer: ServiceAccountIssuer,
  store: Pick<Store, "get" | "update">,
  onTrackError?: (error: unknown) => void,
): TokenAuthenticator {
  const secretInfo = findResource("", "secrets");
  const accountInfo = findResource("", "serviceaccounts");
  if (!secretInfo || !accountInfo) throw new Error("secrets and serviceaccounts must be served");
  return (token) => {
    const unverified = unverifiedClaims(token);
    if (!unverified || unverified.iss !== LEGACY_ISSUER) return undefined;
    const verified = verifyJws(token, issuer.verifyingKeys);
    if (!verified.ok) return { error: verified.error };
    const claims = verified.claims;
    const subject = {} as LegacyTokenSubject;
    for (const field of Object.keys(CLAIM) as (keyof typeof CLAIM)[]) {
      const value = claims[CLAIM[field]];
      if (typeof value !== "string" || !value) return { error: MISSING[field] };
      subject[field] = value;
    }
    const { namespace, secretName, serviceAccountName, serviceAccountUid } = subject;
    const secretKey = storeKey(secretInfo, namespace, secretName);
    const secret = store.get(secretKey);
    if (!secret || secret.metadata.deletionTimestamp) {
      return { error: "token has been invalidated" };
    }
    const data = (secret as KubeObject & { data?: Record<string, string> }).data ?? {};
    if (Buffer.from(data.token ?? "", "base64").toString("utf8") !== token) {
      return { error: "token does not match server's copy" };
    }
    const account = store.get(storeKey(accountInfo, namespace, serviceAccountName));
    if (!account) return { error: `serviceaccounts "${serviceAccountName}" not found` };
    if (account.metadata.deletionTimestamp) {
      return { error: `service account ${namespace}/${serviceAccountName} has been deleted` };
    }
    if (account.metadata.uid !== serviceAccountUid) {
      return {
        error: `service account UID (${account.metadata.uid}) does not match claim (${serviceAccountUid})`,
      };
    }
    const labels = secret.metadata.labels ?? {};
    if (labels[LEGACY_TOKEN_INVALID_SINCE_LABEL]) {
      return {
        error: `the token in secret ${namespace}/${secretName} for service account ${namespace}/${serviceAccountName} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${LEGACY_TOKEN_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token`,
      };
    }
    const today = usedDay(issuer.now());
    if (labels[LEGACY_TOKEN_LAST_USED_LABEL] !== today) {
      const next = structuredClone(secret);
      next.metadata.labels = { ...labels, [LEGACY_TOKEN_LAST_USED_LABEL]: today };
      try {
        store.update(secretKey, next, Number(secret.metadata.resourceVersion));
      } catch (e) {
        // A concurrent write wins; the next use stamps it. The token is still good.
        onTrackError?.(e);
      }
    }
    return {
      user: {
        name: serviceAccountUser(namespace, serviceAccountName),
        uid: serviceAccountUid,
        groups: serviceAccountGroups(namespace),
      },
    };
  };
}
