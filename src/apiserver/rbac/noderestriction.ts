/**
 * kube's NodeRestriction admission plugin, for writes by a node (`system:node:<name>` in
 * `system:nodes`, see `node.ts`), as "Using Node Authorization" describes it:
 * - pods: a node creates only mirror pods (annotated `kubernetes.io/config.mirror`) bound to
 *   itself and using no Secret, ConfigMap, claim or ServiceAccount; deletes only pods bound to
 *   itself; updates only the status of pods bound to itself;
 * - its Node only: create, update, delete; it may not set or change labels under
 *   `node-restriction.kubernetes.io/`;
 * - its Lease only (`kube-node-lease/<node>`).
 * Other users and other resources pass. The refusal is kube's 403 (`pods "x" is forbidden: node
 * "a" can only update pod status for pods with spec.nodeName set to itself`).
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Admission } from "../registry/index.ts";
import type { ResourceInfo } from "../resources.ts";
import { requestingUser } from "./escalation.ts";
import { forbiddenError } from "./forbidden.ts";
import { NODE_LEASE_NAMESPACE, nodeOf, podReferences } from "./node.ts";

const MIRROR = "kubernetes.io/config.mirror";
const RESTRICTED_LABELS = "node-restriction.kubernetes.io/";

function requestingNode(): string | undefined {
  const user = requestingUser.getStore();
  return user ? nodeOf(user) : undefined;
}

function refuse(info: ResourceInfo, obj: KubeObject, why: string): never {
  throw forbiddenError(info.group, info.resource, obj.metadata.name ?? "", why);
}

const boundTo = (pod: KubeObject) => (pod.spec as { nodeName?: string } | undefined)?.nodeName;

function restrictedLabels(obj: KubeObject, old: KubeObject | undefined): string[] {
  const now = obj.metadata.labels ?? {};
  const before = old?.metadata.labels ?? {};
  const keys = new Set([...Object.keys(now), ...Object.keys(before)]);
  return [...keys].filter((k) => k.startsWith(RESTRICTED_LABELS) && now[k] !== before[k]).sort();
}

function checkPodCreate(node: string, info: ResourceInfo, pod: KubeObject): void {
  if (pod.metadata.annotations?.[MIRROR] === undefined) {
    refuse(
      info,
      pod,
      `pod does not have "${MIRROR}" annotation, node "${node}" can only create mirror pods`,
    );
  }
  if (boundTo(pod) !== node) {
    refuse(info, pod, `node "${node}" can only create pods with spec.nodeName set to itself`);
  }
  if ((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName) {
    refuse(info, pod, `node "${node}" can not create pods that reference a service account`);
  }
  const refs = podReferences(pod);
  const named = { secret: "secrets", configmap: "configmaps", pvc: "persistentvolumeclaims" };
  for (const kind of ["secret", "configmap", "pvc"] as const) {
    if (refs[kind].size > 0)
      refuse(info, pod, `node "${node}" can not create pods that reference ${named[kind]}`);
  }
}

export function nodeRestriction(): Admission {
  return {
    create(info, obj) {
      const node =
        info.group === "" || info.group === "coordination.k8s.io" ? requestingNode() : undefined;
      if (node === undefined) return undefined;
      if (info.group === "" && info.resource === "pods") checkPodCreate(node, info, obj);
      else if (info.group === "" && info.resource === "nodes") {
        if (obj.metadata.name !== node)
          refuse(info, obj, `node "${node}" is not allowed to modify node "${obj.metadata.name}"`);
        const labels = restrictedLabels(obj, undefined);
        if (labels.length > 0)
          refuse(
            info,
            obj,
            `node "${node}" is not allowed to set the following labels: ${labels.join(", ")}`,
          );
      } else if (info.group === "coordination.k8s.io" && info.resource === "leases") {
        checkLease(node, info, obj);
      }
      return undefined;
    },
    update(info, obj, old, _dryRun, subresource) {
      const node =
        info.group === "" || info.group === "coordination.k8s.io" ? requestingNode() : undefined;
      if (node === undefined) return undefined;
      if (info.group === "" && info.resource === "pods") {
        if (subresource !== "status") {
          refuse(info, obj, `node "${node}" can only update pod status and create mirror pods`);
        }
        if (boundTo(old) !== node) {
          refuse(
            info,
            obj,
            `node "${node}" can only update pod status for pods with spec.nodeName set to itself`,
          );
        }
      } else if (info.group === "" && info.resource === "nodes") {
        if (obj.metadata.name !== node)
          refuse(info, obj, `node "${node}" is not allowed to modify node "${obj.metadata.name}"`);
        const labels = restrictedLabels(obj, old);
        if (labels.length > 0)
          refuse(info, obj, `node "${node}" is not allowed to modify labels: ${labels.join(", ")}`);
      } else if (info.group === "coordination.k8s.io" && info.resource === "leases") {
        checkLease(node, info, obj);
      }
      return undefined;
    },
    delete(info, old) {
      if (info.group !== "") return;
      const node = requestingNode();
      if (node === undefined) return;
      if (info.resource === "pods" && boundTo(old) !== node) {
        refuse(info, old, `node "${node}" can only delete pods with spec.nodeName set to itself`);
      }
      if (info.resource === "nodes" && old.metadata.name !== node) {
        refuse(info, old, `node "${node}" is not allowed to modify node "${old.metadata.name}"`);
      }
    },
  };
}

function checkLease(node: string, info: ResourceInfo, lease: KubeObject): void {
  if (lease.metadata.namespace !== NODE_LEASE_NAMESPACE || lease.metadata.name !== node) {
    refuse(info, lease, "can only access node lease with the same name as the requesting node");
  }
}
