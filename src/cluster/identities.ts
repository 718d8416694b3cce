/**
 * Who each of loopkube's in-process components is when it calls the API, as a kubeadm cluster's
 * components are: each controller under the ServiceAccount kube-controller-manager's
 * `--use-service-account-credentials` gives it (`kube-system/<name>-controller`, bound to
 * `system:controller:<name>`), the scheduler as `system:kube-scheduler`, the node agent as
 * `system:node:<node>` in `system:nodes` (the Node authorizer and NodeRestriction apply), the
 * proxy as `system:kube-proxy` (its load-balancer status writes, kube's service controller's job,
 * as `kube-system/service-controller`), the cluster DNS as `kube-system/coredns` (kubeadm's
 * `system:coredns`), the ingress controller as `kube-system/ingress-controller` (bound to
 * `loopkube:ingress-controller`, a role modelled on ingress-nginx's). Every call is authorized as an HTTP request would be (see
 * `createInProcessClient`); a refusal is kube's 403, which the component reports and retries.
 *
 * The shared informers read as kube-controller-manager's shared informers do
 * (`system:kube-controller-manager`, which may list and watch everything), and the controllers use
 * them as kube's do. The components that are programs of their own on kube (the scheduler, the
 * proxy, DNS) get a view of them that checks, once per resource asked for, that their identity
 * may list and watch it, and throws kube's 403 otherwise. The node agent uses the shared informers
 * unchecked (kube's kubelet watches only its own pods; loopkube's enforces NetworkPolicies too, a
 * network plugin's job).
 *
 * @module
 */
import { isStatusError } from "../api/errors.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";
import {
  type Attributes,
  type CallUser,
  createInProcessClient,
  INGRESS_CONTROLLER_ACCOUNT,
  NODE_LEASE_NAMESPACE,
  NODES_GROUP,
  type Registry,
  type UserInfo,
} from "../apiserver/index.ts";
import type { InformerFactory } from "../client/factory.ts";
import { defaultStorageClass } from "../controllers/index.ts";

const SYSTEM = "kube-system";
const AUTHENTICATED = "system:authenticated";

/** The user of a ServiceAccount, with the groups kube's token authenticator gives it. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, AUTHENTICATED],
  };
}

const plainUser = (name: string): UserInfo => ({ name, groups: [AUTHENTICATED] });

export const KUBE_CONTROLLER_MANAGER = plainUser("system:kube-controller-manager");
export const KUBE_SCHEDULER = plainUser("system:kube-scheduler");
export const KUBE_PROXY = plainUser("system:kube-proxy");
export const DNS_ACCOUNT = "coredns";
export const SERVICE_CONTROLLER_ACCOUNT = "service-controller";
export const INGRESS_ACCOUNT = INGRESS_CONTROLLER_ACCOUNT;
/** The ingress controller's user (the ServiceAccount its ClusterRole is bound to). */
export const INGRESS_CONTROLLER = serviceAccountUser(SYSTEM, INGRESS_ACCOUNT);

/**
 * Each controller of `CONTROLLERS` (by name) and its kube identity: a ServiceAccount in
 * kube-system, or a user (the scheduler; the token controller runs with kube-controller-manager's
 * own credentials, as kube's does).
 */
export const CONTROLLER_IDENTITIES: Readonly<Record<string, string | UserInfo>> = {
  endpointslice: "endpointslice-controller",
  endpoints: "endpoint-controller",
  garbagecollector: "generic-garbage-collector",
  namespace: "namespace-controller",
  scheduler: KUBE_SCHEDULER,
  replicaset: "replicaset-controller",
  deployment: "deployment-controller",
  statefulset: "statefulset-controller",
  job: "job-controller",
  ttlafterfinished: "ttl-after-finished-controller",
  cronjob: "cronjob-controller",
  volume: "persistent-volume-binder",
  daemonset: "daemon-set-controller",
  replicationcontroller: "replication-controller",
  serviceaccount: "service-account-controller",
  "root-ca-cert-publisher": "root-ca-cert-publisher",
  "serviceaccount-token": KUBE_CONTROLLER_MANAGER,
  disruption: "disruption-controller",
  resourcequota: "resourcequota-controller",
  horizontalpodautoscaling: "horizontal-pod-autoscaler",
  nodelifecycle: "node-controller",
};

/** The user a controller acts as; an unknown controller gets kube-controller-manager's. */
export function controllerUser(controller: string): UserInfo {
  const identity = CONTROLLER_IDENTITIES[controller] ?? KUBE_CONTROLLER_MANAGER;
  return typeof identity === "string" ? serviceAccountUser(SYSTEM, identity) : identity;
}

/** The ServiceAccounts in kube-system that the components act as (kube's client builder and
 *  kubeadm create them). */
export function componentAccounts(): string[] {
  const names = Object.values(CONTROLLER_IDENTITIES).filter((x) => typeof x === "string");
  return [...new Set([...names, SERVICE_CONTROLLER_ACCOUNT, DNS_ACCOUNT, INGRESS_ACCOUNT])].sort();
}

const SERVICEACCOUNTS: ResourceRef = { group: "", version: "v1", resource: "serviceaccounts" };

/** Creates the components' ServiceAccounts that are missing (as the cluster, all-powerful). */
export async function ensureComponentAccounts(client: ApiVerbs): Promise<void> {
  for (const name of componentAccounts()) {
    const account: KubeObject = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: SYSTEM },
    };
    await client.create(SERVICEACCOUNTS, SYSTEM, account).catch((e: unknown) => {
      if (!isStatusError(e, "AlreadyExists")) throw e;
    });
  }
}

const STORAGECLASSES: ResourceRef = {
  group: "storage.k8s.io",
  version: "v1",
  resource: "storageclasses",
};

/**
 * Creates the default StorageClass when missing, as a cluster's installer does (kind's manifests,
 * an add-on manager): the volume controller, under kube's persistent-volume-binder role, may not.
 */
export async function ensureDefaultStorageClass(client: ApiVerbs): Promise<void> {
  await client
    .create(STORAGECLASSES, "", defaultStorageClass() as unknown as KubeObject)
    .catch((e: unknown) => {
      if (!isStatusError(e, "AlreadyExists")) throw e;
    });
}

export type Authorize = (user: UserInfo, attributes: Attributes) => Error | undefined;

/** A view of the shared informers that refuses a resource its user may not list and watch. */
export function informersAs(
  shared: InformerFactory,
  user: UserInfo,
  authorize: Authorize,
): InformerFactory {
  const checked = new Set<string>();
  return {
    ...shared,
    get(ref) {
      const key = `${ref.group}/${ref.resource}`;
      if (!checked.has(key)) {
        for (const verb of ["list", "watch"]) {
          const refusal = authorize(user, {
            verb,
            resourceRequest: true,
            path: "",
            apiGroup: ref.group,
            apiVersion: ref.version,
            resource: ref.resource,
            subresource: "",
            namespace: "",
            name: "",
          });
          if (refusal) throw refusal;
        }
        checked.add(key);
      }
      return shared.get(ref);
    },
  };
}

export const nodeUser = (node: string): UserInfo => ({
  name: `system:node:${node}`,
  groups: [NODES_GROUP, AUTHENTICATED],
});

/**
 * The user of a node agent's call: its node's, or with several nodes the node the call is about
 * (a Node or Lease by name, a pod by `spec.nodeName`), else the first of its nodes the
 * authorizer allows (a Secret one of its pods uses), else its first.
 */
export function nodeAgentUser(
  nodes: readonly string[],
  registry: Registry,
  authorize: Authorize,
): UserInfo | CallUser {
  const users = new Map(nodes.map((n) => [n, nodeUser(n)]));
  const first = users.get(nodes[0] ?? "") ?? nodeUser("");
  if (nodes.length <= 1) return first;
  const podNode = (ns: string, name: string): string | undefined => {
    try {
      const pod = registry.getSync({ group: "", version: "v1", resource: "pods" }, ns, name);
      return (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    } catch {
      return undefined;
    }
  };
  return (a, object) => {
    let node: string | undefined;
    const name = a.name || object?.metadata?.name || "";
    if (a.apiGroup === "" && a.resource === "nodes") node = name;
    else if (a.apiGroup === "coordination.k8s.io" && a.namespace === NODE_LEASE_NAMESPACE)
      node = name;
    else if (a.apiGroup === "" && a.resource === "pods" && a.verb !== "list" && a.verb !== "watch")
      node =
        (object?.spec as { nodeName?: string } | undefined)?.nodeName ?? podNode(a.namespace, name);
    const known = node === undefined ? undefined : users.get(node);
    if (known) return known;
    for (const user of users.values()) if (!authorize(user, a)) return user;
    return first;
  };
}

/**
 * loopkube's controllers write with patches where kube's send updates (kube's roles grant them
 * `update` only): a controller's patch is allowed where its role allows `patch` or `update`.
 */
export function patchOrUpdate(authorize: Authorize): Authorize {
  return (user, a) => {
    const refusal = authorize(user, a);
    if (!refusal || a.verb !== "patch") return refusal;
    return authorize(user, { ...a, verb: "update" }) ? refusal : undefined;
  };
}

/** Each controller's client and informers under its identity (`ControllerContext.as`). */
export function controllerIdentities(
  registry: Registry,
  authorize: Authorize,
  informers: InformerFactory,
): (controller: string) => { client: ApiVerbs; informers: InformerFactory } {
  return (controller) => {
    const user = controllerUser(controller);
    return {
      client: createInProcessClient(registry, {
        identity: { user, authorize: patchOrUpdate(authorize) },
      }),
      // kube-controller-manager's controllers share its informers; the scheduler has its own.
      informers: user === KUBE_SCHEDULER ? informersAs(informers, user, authorize) : informers,
    };
  };
}

/** The in-process client of a user (or of a per-call user). */
export function clientAs(
  registry: Registry,
  user: UserInfo | CallUser,
  authorize: Authorize,
): ApiVerbs {
  return createInProcessClient(registry, { identity: { user, authorize } });
}
