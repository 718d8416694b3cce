/**
 * The resources the garbage collector watches, with the kind an ownerReference names them by and
 * whether they are namespaced. Events are left out, as kube's GC ignores them by default.
 *
 * @module
 */
import { REFS } from "../../api/refs.ts";
import type { ResourceRef } from "../../api/verbs.ts";

export interface GcResource {
  ref: ResourceRef;
  kind: string;
  namespaced: boolean;
}

export const GC_RESOURCES: readonly GcResource[] = [
  { ref: REFS.namespaces, kind: "Namespace", namespaced: false },
  { ref: REFS.nodes, kind: "Node", namespaced: false },
  { ref: REFS.persistentvolumes, kind: "PersistentVolume", namespaced: false },
  { ref: REFS.storageclasses, kind: "StorageClass", namespaced: false },
  { ref: REFS.pods, kind: "Pod", namespaced: true },
  { ref: REFS.services, kind: "Service", namespaced: true },
  { ref: REFS.endpoints, kind: "Endpoints", namespaced: true },
  { ref: REFS.configmaps, kind: "ConfigMap", namespaced: true },
  { ref: REFS.secrets, kind: "Secret", namespaced: true },
  { ref: REFS.serviceaccounts, kind: "ServiceAccount", namespaced: true },
  { ref: REFS.persistentvolumeclaims, kind: "PersistentVolumeClaim", namespaced: true },
  { ref: REFS.deployments, kind: "Deployment", namespaced: true },
  { ref: REFS.replicasets, kind: "ReplicaSet", namespaced: true },
  { ref: REFS.statefulsets, kind: "StatefulSet", namespaced: true },
  { ref: REFS.controllerrevisions, kind: "ControllerRevision", namespaced: true },
  { ref: REFS.jobs, kind: "Job", namespaced: true },
  { ref: REFS.cronjobs, kind: "CronJob", namespaced: true },
  { ref: REFS.endpointslices, kind: "EndpointSlice", namespaced: true },
  { ref: REFS.leases, kind: "Lease", namespaced: true },
  // networking.k8s.io (issue 15, Ingress)
  { ref: REFS.ingressclasses, kind: "IngressClass", namespaced: false },
  { ref: REFS.ingresses, kind: "Ingress", namespaced: true },
  { ref: REFS.networkpolicies, kind: "NetworkPolicy", namespaced: true },
  { ref: REFS.daemonsets, kind: "DaemonSet", namespaced: true },
  { ref: REFS.replicationcontrollers, kind: "ReplicationController", namespaced: true },
  { ref: REFS.poddisruptionbudgets, kind: "PodDisruptionBudget", namespaced: true },
  { ref: REFS.resourcequotas, kind: "ResourceQuota", namespaced: true },
  { ref: REFS.limitranges, kind: "LimitRange", namespaced: true },
];

/** `apiVersion` (`v1`, `apps/v1`) + kind → resource; undefined when not served. */
export function resourceForKind(apiVersion: string, kind: string): GcResource | undefined {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  return GC_RESOURCES.find((r) => r.kind === kind && r.ref.group === group);
}

/** A stable queue key for one object: `resource.group|namespace/name`. */
export function itemKey(res: GcResource, namespace: string, name: string): string {
  return `${res.ref.resource}.${res.ref.group}|${namespace}/${name}`;
}

export function parseItemKey(
  key: string,
): { res: GcResource; namespace: string; name: string } | undefined {
  const bar = key.indexOf("|");
  const rg = key.slice(0, bar);
  const res = GC_RESOURCES.find((r) => `${r.ref.resource}.${r.ref.group}` === rg);
  const rest = key.slice(bar + 1);
  const slash = rest.indexOf("/");
  if (!res || bar < 0 || slash < 0) return undefined;
  return { res, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
