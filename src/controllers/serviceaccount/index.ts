/**
 * Service-account plumbing of every namespace, as kube-controller-manager's `serviceaccount` and
 * `root-ca-cert-publisher` controllers keep it: a `default` ServiceAccount, and the ConfigMap
 * `kube-root-ca.crt` holding the cluster CA (what a pod's token volume projects as `ca.crt`).
 * Both are keyed by namespace and put back when deleted. The `serviceaccount-token` controller
 * fills and cleans up legacy token Secrets (`tokens.ts`). The publisher does nothing unless the
 * context carries the cluster CA (`rootCA`), as kube's needs `--root-ca-file`.
 *
 * @module
 */
import type { ConfigMap, Namespace, Secret, ServiceAccount } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import { ROOT_CA_CONFIGMAP } from "../../api/serviceaccount.ts";
import { asKube, type KubeObject } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { ENSURED_ACCOUNTS, reconcileRootCa, reconcileServiceAccounts } from "./reconcile.ts";
import { reconcileTokenSecret, tokenSecretAccount } from "./tokens.ts";

export {
  ENSURED_ACCOUNTS,
  reconcileRootCa,
  reconcileServiceAccounts,
  rootCaConfigMap,
} from "./reconcile.ts";
export { reconcileTokenSecret, tokenSecretAccount } from "./tokens.ts";

export const SERVICE_ACCOUNT_CONTROLLER = "serviceaccount-controller";
export const ROOT_CA_PUBLISHER = "root-ca-cert-publisher";

export const startServiceAccountController = defineController({
  name: SERVICE_ACCOUNT_CONTROLLER,
  setup({ ctx, queue, watch }) {
    const namespaces = ctx.informers.get<Namespace & KubeObject>(REFS.namespaces);
    const accounts = ctx.informers.get<ServiceAccount & KubeObject>(REFS.serviceaccounts);
    watch(namespaces, {
      onAdd: (ns) => queue.add(ns.metadata.name ?? ""),
      onUpdate: (_old, ns) => queue.add(ns.metadata.name ?? ""),
    });
    watch(accounts, {
      onDelete: (sa) => {
        if (ENSURED_ACCOUNTS.includes(sa.metadata.name ?? ""))
          queue.add(sa.metadata.namespace ?? "");
      },
    });
    return (namespace) =>
      reconcileServiceAccounts(namespace, {
        getNamespace: (name) => namespaces.get("", name),
        getServiceAccount: (ns, name) => accounts.get(ns, name),
        createServiceAccount: async (sa) => {
          await ctx.client.create(REFS.serviceaccounts, sa.metadata?.namespace ?? "", asKube(sa));
        },
      });
  },
});

export const startRootCaPublisher = defineController({
  name: ROOT_CA_PUBLISHER,
  setup({ ctx, queue, watch }) {
    const rootCA = ctx.rootCA;
    if (rootCA === undefined) return async () => {};
    const namespaces = ctx.informers.get<Namespace & KubeObject>(REFS.namespaces);
    const configMaps = ctx.informers.get<ConfigMap & KubeObject>(REFS.configmaps);
    const ours = (cm: KubeObject) => cm.metadata.name === ROOT_CA_CONFIGMAP;
    watch(namespaces, {
      onAdd: (ns) => queue.add(ns.metadata.name ?? ""),
      onUpdate: (_old, ns) => {
        if ((ns.status?.phase ?? "Active") === "Active") queue.add(ns.metadata.name ?? "");
      },
    });
    watch(configMaps, {
      onUpdate: (_old, cm) => {
        if (ours(cm)) queue.add(cm.metadata.namespace ?? "");
      },
      onDelete: (cm) => {
        if (ours(cm)) queue.add(cm.metadata.namespace ?? "");
      },
    });
    return (namespace) =>
      reconcileRootCa(namespace, {
        rootCA,
        getNamespace: (name) => namespaces.get("", name),
        getConfigMap: (ns, name) => configMaps.get(ns, name),
        createConfigMap: async (cm) => {
          await ctx.client.create(REFS.configmaps, cm.metadata?.namespace ?? "", asKube(cm));
        },
        updateConfigMap: async (cm) => {
          await ctx.client.update(REFS.configmaps, cm.metadata?.namespace ?? "", asKube(cm));
        },
      });
  },
});

export const TOKEN_CONTROLLER = "serviceaccount-token-controller";

export const startTokenController = defineController({
  name: TOKEN_CONTROLLER,
  setup({ ctx, queue, watch }) {
    const sign = ctx.signLegacyToken;
    if (sign === undefined) return async () => {};
    const secrets = ctx.informers.get<Secret & KubeObject>(REFS.secrets);
    const accounts = ctx.informers.get<ServiceAccount & KubeObject>(REFS.serviceaccounts);
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
    const onSecret = (s: Secret & KubeObject) => {
      if (tokenSecretAccount(s)) queue.add(keyOf(s));
    };
    watch(secrets, { onAdd: onSecret, onUpdate: (_old, s) => onSecret(s) });
    watch(accounts, {
      onDelete: (sa) => {
        const ns = sa.metadata.namespace ?? "";
        for (const s of secrets.list(ns)) {
          if (tokenSecretAccount(s)?.name === sa.metadata.name) queue.add(keyOf(s));
        }
      },
    });
    return (key) =>
      reconcileTokenSecret(key, {
        sign,
        ...(ctx.rootCA !== undefined ? { rootCA: ctx.rootCA } : {}),
        getSecret: (ns, name) => secrets.get(ns, name),
        getServiceAccount: (ns, name) => accounts.get(ns, name),
        fetchServiceAccount: async (ns, name) => {
          try {
            return (await ctx.client.get(REFS.serviceaccounts, ns, name)) as ServiceAccount;
          } catch (e) {
            if (isStatusError(e, "NotFound")) return undefined;
            throw e;
          }
        },
        updateSecret: async (s) => {
          await ctx.client.update(REFS.secrets, s.metadata?.namespace ?? "", asKube(s));
        },
        deleteSecret: async (ns, name, uid) => {
          await ctx.client.delete(REFS.secrets, ns, name, { preconditions: { uid } });
        },
      });
  },
});
