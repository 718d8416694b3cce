/**
 * The names every part of loopkube agrees on for service accounts, as Kubernetes spells them:
 * the API server's admission and token issuer, the controllers that keep the `default`
 * ServiceAccount and the root CA ConfigMap in each namespace, and the node agent that writes the
 * token into the pod.
 *
 * @module
 */

/** The ServiceAccount a pod gets when it names none, kept in every namespace by a controller. */
export const DEFAULT_SERVICE_ACCOUNT = "default";

/** Where the token, `ca.crt` and `namespace` appear inside every container (kube's path). */
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The prefix of the projected volume admission adds (`kube-api-access-<5 random>`). */
export const TOKEN_VOLUME_PREFIX = "kube-api-access-";

/**
 * The lifetime admission asks for (1 h + 7 s): a marker telling the API server the token may be
 * extended (to a year, with `warnafter` at this mark) for clients that do not reread the file.
 */
export const WARN_ONLY_TOKEN_SECONDS = 60 * 60 + 7;

/** The ConfigMap holding the cluster CA (`ca.crt`) in every namespace. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

/** Its one annotation, as the root-ca-cert-publisher writes it. */
export const ROOT_CA_DESCRIPTION = {
  key: "kubernetes.io/description",
  value:
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.",
} as const;

/** `system:serviceaccount:<namespace>:<name>`, the user name (and token `sub`) of an account. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The groups every service account belongs to, besides `system:authenticated`. */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

/** The issuer (and default audience) of a cluster's tokens, kubeadm's choice. */
export function defaultIssuer(clusterDomain: string): string {
  return `https://kubernetes.default.svc.${clusterDomain}`;
}

/** The Secret type whose tokens kube's token controller fills (legacy service-account tokens). */
export const SERVICE_ACCOUNT_TOKEN_SECRET = "kubernetes.io/service-account-token";
/** The annotations naming a token Secret's ServiceAccount (its name, and uid once filled). */
export const SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name";
export const SERVICE_ACCOUNT_UID_ANNOTATION = "kubernetes.io/service-account.uid";
/** The issuer of legacy Secret-based tokens. */
export const LEGACY_ISSUER = "kubernetes/serviceaccount";
/** The label the authenticator stamps with the day a legacy token was last used. */
export const LEGACY_TOKEN_LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used";
/** The label kube's legacy-token cleaner sets on a token it invalidated. */
export const LEGACY_TOKEN_INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since";

/** What a legacy token names: the namespace, its Secret and its ServiceAccount. */
export interface LegacyTokenSubject {
  namespace: string;
  secretName: string;
  serviceAccountName: string;
  serviceAccountUid: string;
}

/** Signs a legacy token for a subject (the API server's service-account signing key). */
export type LegacyTokenSigner = (subject: LegacyTokenSubject) => string;
