/**
 * kube-controller-manager's token controller (`serviceaccount-token`), for legacy Secret-based
 * tokens, keyed by Secret (`<namespace>/<name>`):
 *
 * - A Secret of type `kubernetes.io/service-account-token` whose annotated ServiceAccount
 *   (`kubernetes.io/service-account.name`, and `.uid` when set) does not exist is deleted, with
 *   its uid as precondition. A ServiceAccount missing from the cache is looked up live first (it
 *   may have just been created), as kube does before deleting.
 * - Otherwise the Secret is filled: `data.token` (a signed legacy token) when empty, `ca.crt`
 *   when it differs from the cluster CA, `namespace` when it differs from the Secret's, and the
 *   `.uid` annotation set to the ServiceAccount's uid. An existing token is kept.
 *
 * Deleting a ServiceAccount queues the token Secrets that name it (see `index.ts`), which this
 * then deletes. Reads come through `deps`, every write goes through `deps`.
 *
 * @module
 */
import type { Secret, ServiceAccount } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import {
  type LegacyTokenSigner,
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_SECRET,
  SERVICE_ACCOUNT_UID_ANNOTATION,
} from "../../api/serviceaccount.ts";
import type { ReconcileResult } from "../../client/index.ts";

export interface TokenDeps {
  sign: LegacyTokenSigner;
  /** The cluster CA (PEM) put in `ca.crt`; absent: `ca.crt` is left alone. */
  rootCA?: string;
  getSecret(namespace: string, name: string): Secret | undefined;
  /** The cache's ServiceAccount. */
  getServiceAccount(namespace: string, name: string): ServiceAccount | undefined;
  /** A live read (the cache may lag behind a ServiceAccount just created). */
  fetchServiceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  updateSecret(secret: Secret): Promise<void>;
  /** Deletes the Secret if it still has `uid`. */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>;
}

/** The ServiceAccount a token Secret names, or undefined for any other Secret. */
export function tokenSecretAccount(secret: Secret): { name: string; uid?: string } | undefined {
  if (secret.type !== SERVICE_ACCOUNT_TOKEN_SECRET) return undefined;
  const annotations = secret.metadata?.annotations ?? {};
  const name = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION];
  if (!name) return undefined;
  const uid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
  return uid ? { name, uid } : { name };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");

function matches(sa: ServiceAccount | undefined, uid: string | undefined) {
  return sa !== undefined && (uid === undefined || sa.metadata?.uid === uid) ? sa : undefined;
}

export async function reconcileTokenSecret(key: string, deps: TokenDeps): Promise<ReconcileResult> {
  const slash = key.indexOf("/");
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  const secret = deps.getSecret(namespace, name);
  if (!secret || secret.metadata?.deletionTimestamp) return;
  const ref = tokenSecretAccount(secret);
  if (!ref) return;
  const account =
    matches(deps.getServiceAccount(namespace, ref.name), ref.uid) ??
    matches(await deps.fetchServiceAccount(namespace, ref.name), ref.uid);
  if (!account || account.metadata?.deletionTimestamp) {
    try {
      await deps.deleteSecret(namespace, name, secret.metadata?.uid ?? "");
    } catch (e) {
      if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
    }
    return;
  }
  const accountUid = account.metadata?.uid ?? "";
  const data = secret.data ?? {};
  const wanted: Record<string, string> = {};
  if (!unb64(data.token)) {
    wanted.token = b64(
      deps.sign({
        namespace,
        secretName: name,
        serviceAccountName: ref.name,
        serviceAccountUid: accountUid,
      }),
    );
  }
  if (deps.rootCA !== undefined && unb64(data["ca.crt"]) !== deps.rootCA) {
    wanted["ca.crt"] = b64(deps.rootCA);
  }
  if (unb64(data.namespace) !== namespace) wanted.namespace = b64(namespace);
  const annotated = ref.uid === accountUid;
  if (Object.keys(wanted).length === 0 && annotated) return;
  const next = structuredClone(secret);
  next.data = { ...data, ...wanted };
  next.metadata = {
    ...next.metadata,
    annotations: { ...next.metadata?.annotations, [SERVICE_ACCOUNT_UID_ANNOTATION]: accountUid },
  };
  await deps.updateSecret(next);
}
