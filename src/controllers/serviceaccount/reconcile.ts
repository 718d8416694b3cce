/**
 * The two reconcilers behind every namespace's service-account plumbing, keyed by namespace:
 *
 * - `reconcileServiceAccounts` (kube's serviceaccount-controller): an Active namespace has a
 *   ServiceAccount `default`; one deleted comes back. A namespace not Active (being deleted) is
 *   left alone, and a create the API refuses because the namespace is gone or terminating is not
 *   retried.
 * - `reconcileRootCa` (kube's root-ca-cert-publisher): the ConfigMap `kube-root-ca.crt` holds
 *   exactly `ca.crt` (the cluster CA) and carries the `kubernetes.io/description` annotation;
 *   it is created when missing and put back when its data or annotation drifted.
 *
 * Reads come from informer caches through `deps`; every write goes through `deps`.
 *
 * @module
 */
import type { ConfigMap, Namespace, ServiceAccount } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import {
  DEFAULT_SERVICE_ACCOUNT,
  ROOT_CA_CONFIGMAP,
  ROOT_CA_DESCRIPTION,
} from "../../api/serviceaccount.ts";
import type { ReconcileResult } from "../../client/index.ts";

/** The accounts every namespace has (kube's controller is configured with just `default`). */
export const ENSURED_ACCOUNTS: readonly string[] = [DEFAULT_SERVICE_ACCOUNT];

export interface ServiceAccountDeps {
  getNamespace(name: string): Namespace | undefined;
  getServiceAccount(namespace: string, name: string): ServiceAccount | undefined;
  createServiceAccount(account: ServiceAccount): Promise<void>;
}

/** True for the refusals that mean "this namespace is gone or going": not worth a retry. */
function namespaceGone(e: unknown): boolean {
  return (
    isStatusError(e, "NotFound") ||
    (isStatusError(e, "Forbidden") && /because it is being terminated/.test(e.message))
  );
}

const active = (ns: Namespace | undefined) =>
  ns !== undefined &&
  !ns.metadata?.deletionTimestamp &&
  (ns.status?.phase ?? "Active") === "Active";

export async function reconcileServiceAccounts(
  namespace: string,
  deps: ServiceAccountDeps,
): Promise<ReconcileResult> {
  if (!active(deps.getNamespace(namespace))) return;
  for (const name of ENSURED_ACCOUNTS) {
    if (deps.getServiceAccount(namespace, name)) continue;
    try {
      await deps.createServiceAccount({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name, namespace },
      });
    } catch (e) {
      if (isStatusError(e, "AlreadyExists") || namespaceGone(e)) continue;
      throw e;
    }
  }
}

export interface RootCaDeps {
  rootCA: string;
  getNamespace(name: string): Namespace | undefined;
  getConfigMap(namespace: string, name: string): ConfigMap | undefined;
  createConfigMap(cm: ConfigMap): Promise<void>;
  updateConfigMap(cm: ConfigMap): Promise<void>;
}

/** The ConfigMap as the publisher wants it in `namespace`. */
export function rootCaConfigMap(namespace: string, rootCA: string): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ROOT_CA_CONFIGMAP,
      namespace,
      annotations: { [ROOT_CA_DESCRIPTION.key]: ROOT_CA_DESCRIPTION.value },
    },
    data: { "ca.crt": rootCA },
  };
}

export async function reconcileRootCa(
  namespace: string,
  deps: RootCaDeps,
): Promise<ReconcileResult> {
  const ns = deps.getNamespace(namespace);
  if (!ns) return;
  const cm = deps.getConfigMap(namespace, ROOT_CA_CONFIGMAP);
  if (!cm) {
    // A terminating namespace takes no new content; the API would refuse it anyway.
    if (!active(ns)) return;
    try {
      await deps.createConfigMap(rootCaConfigMap(namespace, deps.rootCA));
    } catch (e) {
      if (isStatusError(e, "AlreadyExists") || namespaceGone(e)) return;
      throw e;
    }
    return;
  }
  const data = cm.data ?? {};
  const dataOk = Object.keys(data).length === 1 && data["ca.crt"] === deps.rootCA;
  const annotated = Boolean(cm.metadata?.annotations?.[ROOT_CA_DESCRIPTION.key]);
  if (dataOk && annotated) return;
  const next = structuredClone(cm);
  next.data = { "ca.crt": deps.rootCA };
  next.metadata = {
    ...next.metadata,
    annotations: {
      ...(next.metadata?.annotations ?? {}),
      [ROOT_CA_DESCRIPTION.key]: ROOT_CA_DESCRIPTION.value,
    },
  };
  await deps.updateConfigMap(next);
}
