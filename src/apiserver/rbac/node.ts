/**
 * kube's Node authorizer (`--authorization-mode=Node,RBAC`, "Using Node Authorization"): a user
 * `system:node:<name>` in the group `system:nodes` may
 * - read (`get`, or a list/watch of one name) a Secret, ConfigMap or PersistentVolumeClaim only
 *   when a pod bound to its node uses it (volumes, projected sources, env, envFrom,
 *   imagePullSecrets; ephemeral volumes' claims), a PersistentVolume only when such a claim is
 *   bound to it, and update a claim's status likewise;
 * - create a token (`serviceaccounts/token`) only for the account of a pod bound to it;
 * - get, create, update, patch and delete only its own Lease in `kube-node-lease`;
 * - do what kube's `system:node` role lists, for everything else.
 * Otherwise it has no opinion and RBAC decides (`system:node` is bound to nobody), so its reason
 * (`no relationship found between node 'n' and this object`) ends kube's 403. Any other user
 * gets no opinion. Relationships are read from the store at each decision (kube keeps a graph):
 * the pods of the object's namespace bound to the node, so a node's read costs a scan of that
 * namespace's pods.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { UserInfo } from "../authn.ts";
import { findResource, storeKey, storePrefix } from "../resources.ts";
import { COMPONENT_ROLES } from "./_components.ts";
import { type Attributes, type PolicyRule, ruleAllows } from "./_rules.ts";

export const NODES_GROUP = "system:nodes";
const NODE_PREFIX = "system:node:";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The node a user is (kube's NodeIdentifier), or undefined. */
export function nodeOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.name.slice(NODE_PREFIX.length);
  return name === "" ? undefined : name;
}

export type NodeDecision = { decision: "allow" | "noopinion"; reason: string };

const NODE_RULES: readonly PolicyRule[] =
  COMPONENT_ROLES.find((r) => r.name === "system:node")?.rules ?? [];

interface Volume {
  secret?: { secretName?: string };
  configMap?: { name?: string };
  persistentVolumeClaim?: { claimName?: string };
  ephemeral?: unknown;
  projected?: { sources?: Array<{ secret?: { name?: string }; configMap?: { name?: string } }> };
  name?: string;
  [k: string]: unknown;
}
interface Container {
  env?: Array<{
    valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } };
  }>;
  envFrom?: Array<{ secretRef?: { name?: string }; configMapRef?: { name?: string } }>;
}
interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  volumes?: Volume[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  imagePullSecrets?: Array<{ name?: string }>;
}

type Kind = "secret" | "configmap" | "pvc" | "serviceaccount";

/** What a pod uses: kube's graph edges from a pod to Secrets, ConfigMaps and claims. */
export function podReferences(
  pod: KubeObject,
): Record<"secret" | "configmap" | "pvc", Set<string>> {
  const spec = (pod.spec ?? {}) as PodSpec;
  const out = { secret: new Set<string>(), configmap: new Set<string>(), pvc: new Set<string>() };
  const add = (set: Set<string>, name: string | undefined) => {
    if (name) set.add(name);
  };
  for (const s of spec.imagePullSecrets ?? []) add(out.secret, s?.name);
  for (const v of spec.volumes ?? []) {
    add(out.secret, v?.secret?.secretName);
    add(out.configmap, v?.configMap?.name);
    add(out.pvc, v?.persistentVolumeClaim?.claimName);
    if (v?.ephemeral !== undefined) add(out.pvc, `${pod.metadata.name}-${v.name}`);
    for (const p of v?.projected?.sources ?? []) {
      add(out.secret, p?.secret?.name);
      add(out.configmap, p?.configMap?.name);
    }
  }
  const containers = [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c?.env ?? []) {
      add(out.secret, e?.valueFrom?.secretKeyRef?.name);
      add(out.configmap, e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c?.envFrom ?? []) {
      add(out.secret, e?.secretRef?.name);
      add(out.configmap, e?.configMapRef?.name);
    }
  }
  return out;
}

/** Whether `pod` uses the object of `kind` named `name`. */
export function podUses(pod: KubeObject, kind: Kind, name: string): boolean {
  if (kind === "serviceaccount") {
    return ((pod.spec as PodSpec | undefined)?.serviceAccountName || "default") === name;
  }
  return podReferences(pod)[kind].has(name);
}

const PODS = findResource("", "pods")!;
const PVCS = findResource("", "persistentvolumeclaims")!;

export function createNodeAuthorizer(store: Store) {
  const podsOnNode = (node: string, namespace: string): KubeObject[] =>
    store
      .list(storePrefix(PODS, namespace))
      .items.filter((p) => (p.spec as PodSpec | undefined)?.nodeName === node);
  const related = (node: string, kind: Kind, namespace: string, name: string): boolean =>
    podsOnNode(node, namespace).some((p) => podUses(p, kind, name));
  /** A PersistentVolume is related through a claim of a pod on the node that is bound to it. */
  const pvRelated = (node: string, pv: string): boolean => {
    for (const pod of podsOnNode(node, "")) {
      const ns = pod.metadata.namespace ?? "";
      for (const claim of podReferences(pod).pvc) {
        const pvc = store.get(storeKey(PVCS, ns, claim));
        if ((pvc?.spec as { volumeName?: string } | undefined)?.volumeName === pv) return true;
      }
    }
    return false;
  };
  const none = (reason: string): NodeDecision => ({ decision: "noopinion", reason });
  const allow: NodeDecision = { decision: "allow", reason: "" };
  const noRelation = (node: string) =>
    none(`no relationship found between node '${node}' and this object`);

  return (user: UserInfo, a: Attributes): NodeDecision => {
    const node = nodeOf(user);
    if (node === undefined || !a.resourceRequest) {
      if (node !== undefined && NODE_RULES.some((r) => ruleAllows(r, a))) return allow;
      return none("");
    }
    const kind: Kind | undefined =
      a.apiGroup !== ""
        ? undefined
        : a.resource === "secrets"
          ? "secret"
          : a.resource === "configmaps"
            ? "configmap"
            : a.resource === "persistentvolumeclaims"
              ? "pvc"
              : undefined;
    if (kind) {
      if (kind === "pvc" && a.subresource === "status") {
        if (a.verb !== "update" && a.verb !== "patch")
          return none("can only get individual resources of this type");
      } else {
        if (a.verb !== "get" && a.verb !== "list" && a.verb !== "watch")
          return none("can only read resources of this type");
        if (a.subresource) return none("cannot read subresource");
      }
      if (!a.namespace) return none("can only read namespaced object of this type");
      if (!a.name) return none("No Object name found");
      return related(node, kind, a.namespace, a.name) ? allow : noRelation(node);
    }
    if (a.apiGroup === "" && a.resource === "persistentvolumes") {
      if (a.verb !== "get") return none("can only get individual resources of this type");
      if (a.subresource) return none("cannot get subresource");
      if (!a.name) return none("No Object name found");
      return pvRelated(node, a.name) ? allow : noRelation(node);
    }
    if (a.apiGroup === "" && a.resource === "serviceaccounts" && a.subresource === "token") {
      if (a.verb !== "create")
        return none("can only create tokens for individual service accounts");
      if (!a.name) return none("No Object name found");
      return related(node, "serviceaccount", a.namespace, a.name) ? allow : noRelation(node);
    }
    if (a.apiGroup === "coordination.k8s.io" && a.resource === "leases") {
      if (!["get", "create", "update", "patch", "delete"].includes(a.verb))
        return none("can only get, create, update, patch, or delete a node lease");
      if (a.namespace !== NODE_LEASE_NAMESPACE)
        return none(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
      // A create names no lease: NodeRestriction checks its name.
      if (a.verb !== "create" && a.name !== node)
        return none("can only access node lease with the same name as the requesting node");
      return allow;
    }
    return NODE_RULES.some((r) => ruleAllows(r, a)) ? allow : none("");
  };
}
