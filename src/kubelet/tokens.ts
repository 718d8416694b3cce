/**
 * The node agent's service-account token manager (the kubelet's `token.Manager`): projected
 * `serviceAccountToken` volume sources get their token from the TokenRequest API, bound to the
 * pod, and the manager keeps each one until it needs a refresh, which is when it is older than
 * 80 % of its lifetime or older than 24 hours (less a random jitter of up to 10 s, so that many
 * pods do not all refresh at once). The volume refresh loop asks on every pass; the manager
 * answers from its cache until then. A failed refresh keeps serving the old token while it is
 * still valid. Entries past their expiry are dropped on the next call (pods that are gone).
 *
 * The lifetime is the one the API reports (`status.expirationTimestamp` minus the requested
 * `expirationSeconds`), so an extended 3607 s token is refreshed after about 48 minutes, as on a
 * real node.
 *
 * @module
 */
import { REFS, sub } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";

export interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds: number;
  boundObjectRef: { apiVersion: "v1"; kind: "Pod"; name: string; uid: string };
}

export interface IssuedToken {
  token: string;
  /** RFC 3339, from the TokenRequest's status. */
  expirationTimestamp: string;
}

/** One call of the TokenRequest API for `namespace/serviceAccount`. */
export type RequestToken = (
  namespace: string,
  serviceAccount: string,
  spec: TokenRequestSpec,
) => Promise<IssuedToken>;

export interface TokenManagerOptions {
  request: RequestToken;
  now?: () => number;
  /** In [0, 1): scales the jitter. */
  random?: () => number;
  onError?: (e: unknown) => void;
}

const MAX_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_JITTER_MS = 10_000;

interface Entry {
  spec: TokenRequestSpec;
  issued: IssuedToken;
}

/** True when `entry` is due for a refresh at `now` with the given jitter (kube's requiresRefresh). */
export function requiresRefresh(
  entry: { expirationSeconds: number; expirationTimestamp: string },
  now: number,
  jitterMs = 0,
): boolean {
  const exp = Date.parse(entry.expirationTimestamp);
  const ttlMs = entry.expirationSeconds * 1000;
  const iat = exp - ttlMs;
  if (now > iat + MAX_TTL_MS - jitterMs) return true;
  return now > exp - ttlMs / 5 - jitterMs;
}

export interface TokenManager {
  /** The token for `namespace/serviceAccount` as `spec` asks, fresh enough to hand out. */
  get(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<string>;
  /** Forgets every token of a pod (it is gone). */
  forgetPod(uid: string): void;
  size(): number;
}

export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const cache = new Map<string, Entry>();
  const keyOf = (ns: string, sa: string, spec: TokenRequestSpec) =>
    JSON.stringify([ns, sa, spec.audiences ?? [], spec.expirationSeconds, spec.boundObjectRef]);
  const expired = (e: Entry, t: number) => t >= Date.parse(e.issued.expirationTimestamp);

  return {
    async get(namespace, serviceAccount, spec) {
      const t = now();
      for (const [k, e] of cache) if (expired(e, t)) cache.delete(k);
      const key = keyOf(namespace, serviceAccount, spec);
      const cached = cache.get(key);
      const jitter = Math.floor(random() * (MAX_JITTER_MS / 1000)) * 1000;
      if (
        cached &&
        !requiresRefresh(
          {
            expirationSeconds: cached.spec.expirationSeconds,
            expirationTimestamp: cached.issued.expirationTimestamp,
          },
          t,
          jitter,
        )
      ) {
        return cached.issued.token;
      }
      try {
        const issued = await options.request(namespace, serviceAccount, spec);
        cache.set(key, { spec, issued });
        return issued.token;
      } catch (e) {
        if (cached && !expired(cached, now())) {
          options.onError?.(e);
          return cached.issued.token;
        }
        throw e;
      }
    },
    forgetPod(uid) {
      for (const [k, e] of cache) if (e.spec.boundObjectRef.uid === uid) cache.delete(k);
    },
    size: () => cache.size,
  };
}

/** The TokenRequest call over an API client (`POST serviceaccounts/<name>/token`). */
export function requestTokenOf(client: Pick<ApiVerbs, "create">): RequestToken {
  return async (namespace, serviceAccount, spec) => {
    const answer = await client.create(sub(REFS.serviceaccounts, "token"), namespace, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name: serviceAccount, namespace },
      spec,
    } as KubeObject);
    const status = (answer.status ?? {}) as Partial<IssuedToken>;
    if (!status.token || !status.expirationTimestamp) {
      throw new Error("the TokenRequest answer carries no token");
    }
    return { token: status.token, expirationTimestamp: status.expirationTimestamp };
  };
}
