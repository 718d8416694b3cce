/**
 * ServiceAccount admission, as kube-apiserver's plugin of that name does it on pod create:
 * - a pod naming no account gets `default` (and the deprecated `serviceAccount` alias);
 * - the account must exist, else `pods "x" is forbidden: error looking up service account
 *   <ns>/<sa>: serviceaccount "<sa>" not found` (for `default`, which a controller creates with
 *   the namespace, the create first waits up to two seconds for it, as kube retries its lookup);
 * - unless `automountServiceAccountToken` (the pod's, else the account's) is false, the pod gets
 *   the projected volume `kube-api-access-<5 random>` (a 3607 s token, `ca.crt` from the
 *   `kube-root-ca.crt` ConfigMap, the namespace from the downward API) mounted read-only at
 *   `/var/run/secrets/kubernetes.io/serviceaccount` in every init and app container that has
 *   nothing mounted there yet;
 * - the account's `imagePullSecrets` go to a pod that has none;
 * - an account annotated `kubernetes.io/enforce-mountable-secrets: "true"` limits the pod to
 *   the secrets it lists;
 * - mirror pods may reference neither accounts nor secrets.
 *
 * @module
 */
import { StatusError } from "../../api/errors.ts";
import {
  DEFAULT_SERVICE_ACCOUNT,
  ROOT_CA_CONFIGMAP,
  SERVICE_ACCOUNT_MOUNT_PATH,
  TOKEN_VOLUME_PREFIX,
  WARN_ONLY_TOKEN_SECONDS,
} from "../../api/serviceaccount.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { randomSuffix } from "../registry/index.ts";
import { findResource, storeKey } from "../resources.ts";

const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
const ENFORCE_MOUNTABLE = "kubernetes.io/enforce-mountable-secrets";
/** kube retries the lookup of `default` 10 times, 100–200 ms apart. */
const DEFAULT_WAIT_MS = 2000;

interface Mount {
  name?: string;
  mountPath?: string;
  readOnly?: boolean;
}
interface Container {
  name?: string;
  volumeMounts?: Mount[];
  env?: Array<{ name?: string; valueFrom?: { secretKeyRef?: { name?: string } } }>;
}
interface Volume {
  name?: string;
  secret?: { secretName?: string };
  projected?: { sources?: Array<{ serviceAccountToken?: unknown }> };
}
interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  initContainers?: Container[];
  containers?: Container[];
  volumes?: Volume[];
  imagePullSecrets?: Array<{ name?: string }>;
}
interface ServiceAccount extends KubeObject {
  automountServiceAccountToken?: boolean;
  secrets?: Array<{ name?: string }>;
  imagePullSecrets?: Array<{ name?: string }>;
}

/** `pods "x" is forbidden: …` (the generateName prefix stands for a name not yet chosen). */
function forbidden(pod: KubeObject, why: string): StatusError {
  const name = pod.metadata.generateName || pod.metadata.name || "";
  const message = name ? `pods "${name}" is forbidden: ${why}` : `pods is forbidden: ${why}`;
  return new StatusError(403, "Forbidden", message, { kind: "pods", ...(name ? { name } : {}) });
}

/** The projected volume kube's admission adds. */
export function tokenVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: WARN_ONLY_TOKEN_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [
              {
                path: "namespace",
                fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
              },
            ],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
}

function shouldAutomount(sa: ServiceAccount, spec: PodSpec): boolean {
  if (typeof spec.automountServiceAccountToken === "boolean")
    return spec.automountServiceAccountToken;
  if (typeof sa.automountServiceAccountToken === "boolean") return sa.automountServiceAccountToken;
  return true;
}

function mountToken(spec: PodSpec, random: () => number): void {
  const existing = (spec.volumes ?? []).find((v) => v.name?.startsWith(TOKEN_VOLUME_PREFIX));
  const volumeName = existing?.name ?? `${TOKEN_VOLUME_PREFIX}${randomSuffix(random)}`;
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    for (const c of list ?? []) {
      const mounts = c.volumeMounts ?? [];
      if (mounts.some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
      c.volumeMounts = [
        ...mounts,
        { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH },
      ];
      needed = true;
    }
  }
  if (needed && !existing)
    spec.volumes = [...(spec.volumes ?? []), tokenVolume(volumeName) as Volume];
}

function limitSecretReferences(sa: ServiceAccount, spec: PodSpec): string | undefined {
  const account = sa.metadata.name ?? "";
  const mountable = new Set((sa.secrets ?? []).map((s) => s.name));
  for (const v of spec.volumes ?? []) {
    const secret = v.secret?.secretName;
    if (secret !== undefined && !mountable.has(secret)) {
      return `volume with secret.secretName="${secret}" is not allowed because service account ${account} does not reference that secret`;
    }
  }
  for (const [what, list] of [
    ["init container", spec.initContainers],
    ["container", spec.containers],
  ] as const) {
    for (const c of list ?? []) {
      for (const e of c.env ?? []) {
        const secret = e.valueFrom?.secretKeyRef?.name;
        if (secret !== undefined && !mountable.has(secret)) {
          return `${what} ${c.name} with envVar ${e.name} referencing secret.secretName="${secret}" is not allowed because service account ${account} does not reference that secret`;
        }
      }
    }
  }
  const pullable = new Set((sa.imagePullSecrets ?? []).map((s) => s.name));
  for (const [i, ref] of (spec.imagePullSecrets ?? []).entries()) {
    if (!pullable.has(ref.name)) {
      return `imagePullSecrets[${i}].name="${ref.name}" is not allowed because service account ${account} does not reference that imagePullSecret`;
    }
  }
  return undefined;
}

function mirrorRefusal(spec: PodSpec): string | undefined {
  if (spec.serviceAccountName) return "a mirror pod may not reference service accounts";
  const usesSecrets =
    (spec.volumes ?? []).some((v) => v.secret) ||
    [...(spec.initContainers ?? []), ...(spec.containers ?? [])].some((c) =>
      (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef),
    ) ||
    (spec.imagePullSecrets ?? []).length > 0;
  if (usesSecrets) return "a mirror pod may not reference secrets";
  if ((spec.volumes ?? []).some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)))
    return "a mirror pod may not use ServiceAccountToken volume projections";
  return undefined;
}

/** Go's strconv.ParseBool true values. */
const isTrue = (v: string | undefined) =>
  v !== undefined && ["1", "t", "T", "TRUE", "true", "True"].includes(v);

const isPods = (info: { group: string; resource: string }) =>
  info.group === "" && info.resource === "pods";

export function serviceAccountAdmission(
  store: Pick<Store, "get">,
  options: { random?: () => number; waitMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Admission {
  const accounts = findResource("", "serviceaccounts")!;
  const namespaces = findResource("", "namespaces")!;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const getAccount = (ns: string, name: string) =>
    store.get(storeKey(accounts, ns, name)) as ServiceAccount | undefined;
  return {
    ready(info, namespace, body) {
      if (!isPods(info)) return undefined;
      const spec = (body.spec ?? {}) as PodSpec;
      const named = spec.serviceAccountName || spec.serviceAccount || DEFAULT_SERVICE_ACCOUNT;
      if (named !== DEFAULT_SERVICE_ACCOUNT) return undefined;
      if (body.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) return undefined;
      // Only a live namespace gets its account; elsewhere the create fails on its own.
      const waiting = () => {
        const ns = store.get(storeKey(namespaces, "", namespace));
        return ns !== undefined && !ns.metadata.deletionTimestamp && !getAccount(namespace, named);
      };
      if (!waiting()) return undefined;
      const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
      return (async () => {
        while (waiting() && Date.now() < deadline) await sleep(25);
      })();
    },
    create(info, obj) {
      if (!isPods(info)) return undefined;
      obj.spec ??= {};
      const spec = obj.spec as PodSpec;
      if (obj.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) {
        const refusal = mirrorRefusal(spec);
        if (refusal) throw forbidden(obj, refusal);
        return undefined;
      }
      if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
      spec.serviceAccount = spec.serviceAccountName;
      const namespace = obj.metadata.namespace ?? "";
      const name = spec.serviceAccountName;
      const sa = getAccount(namespace, name);
      if (!sa) {
        throw forbidden(
          obj,
          `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
        );
      }
      if (shouldAutomount(sa, spec)) mountToken(spec, random);
      if (!spec.imagePullSecrets?.length && sa.imagePullSecrets?.length) {
        spec.imagePullSecrets = sa.imagePullSecrets.map((s) => ({ name: s.name ?? "" }));
      }
      if (isTrue(sa.metadata.annotations?.[ENFORCE_MOUNTABLE])) {
        const refusal = limitSecretReferences(sa, spec);
        if (refusal) throw forbidden(obj, refusal);
      }
      return undefined;
    },
  };
}
