/**
 * The claims of a service-account token, as kube-apiserver puts them (`pkg/serviceaccount`):
 * `iss`, `sub` (`system:serviceaccount:<ns>:<name>`), `aud` (always a list), `iat` = `nbf` = now,
 * `exp`, `jti` (a UUID), and the private `kubernetes.io` claim naming the namespace, the
 * ServiceAccount and the object the token is bound to (a pod, with its node when it has one; a
 * secret; or a node), plus `warnafter` for an extended pod token. Times are whole seconds.
 *
 * @module
 */
import { serviceAccountUser } from "../../api/serviceaccount.ts";

export interface ObjectRef {
  name: string;
  uid: string;
}

export interface ClaimsInput {
  issuer: string;
  audiences: string[];
  now: Date;
  /** Seconds until `exp`. */
  expirationSeconds: number;
  /** Seconds until `warnafter` (extended tokens only). */
  warnAfterSeconds?: number;
  jti: string;
  namespace: string;
  serviceAccount: ObjectRef;
  pod?: ObjectRef;
  /** For a pod-bound token: the pod's node (uid empty when the Node object is gone). */
  node?: ObjectRef;
  secret?: ObjectRef;
}

export interface PrivateClaims {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  warnafter?: number;
}

export interface TokenClaims {
  aud: string[];
  exp: number;
  iat: number;
  iss: string;
  jti: string;
  "kubernetes.io": PrivateClaims;
  nbf: number;
  sub: string;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The claims of one token (a ref's empty uid is left out, as Go's `omitempty` does). */
export function tokenClaims(input: ClaimsInput): TokenClaims {
  const iat = seconds(input.now);
  const ref = (r: ObjectRef): ObjectRef =>
    r.uid ? { name: r.name, uid: r.uid } : ({ name: r.name } as ObjectRef);
  const k8s: PrivateClaims = {
    namespace: input.namespace,
    serviceaccount: ref(input.serviceAccount),
  };
  if (input.pod) k8s.pod = ref(input.pod);
  if (input.secret) k8s.secret = ref(input.secret);
  if (input.node) k8s.node = ref(input.node);
  if (input.warnAfterSeconds) k8s.warnafter = iat + input.warnAfterSeconds;
  return {
    aud: [...input.audiences],
    exp: iat + input.expirationSeconds,
    iat,
    iss: input.issuer,
    jti: input.jti,
    "kubernetes.io": k8s,
    nbf: iat,
    sub: serviceAccountUser(input.namespace, input.serviceAccount.name),
  };
}

/** go-jose's default leeway for `exp`, `nbf` and `iat`, which kube's validator keeps. */
export const LEEWAY_SECONDS = 60;

/**
 * kube's time checks, with its messages: expired, not yet valid, issued in the future
 * (each allowing {@link LEEWAY_SECONDS}); undefined when the token is current.
 */
export function timeError(claims: Record<string, unknown>, now: Date): string | undefined {
  const t = seconds(now);
  const num = (k: string) => (typeof claims[k] === "number" ? (claims[k] as number) : undefined);
  const exp = num("exp");
  const nbf = num("nbf");
  const iat = num("iat");
  if (exp !== undefined && t - LEEWAY_SECONDS > exp) return "service account token has expired";
  if (nbf !== undefined && t + LEEWAY_SECONDS < nbf)
    return "service account token is not valid yet";
  if (iat !== undefined && t + LEEWAY_SECONDS < iat)
    return "service account token is issued in the future";
  return undefined;
}
