/**
 * The resources the garbage collector watches, with the kind an ownerReference names them by and
 * whether they are namespaced: every built-in resource that supports list, watch and delete
 * (events left out, as kube's GC ignores them by default), plus the custom resources of every
 * Established CustomResourceDefinition. kube's GC finds the same set through discovery and
 * resyncs its monitors as CRDs come and go; here the CRD objects themselves are the discovery
 * source for custom resources (`customResources`), and `test/gc-custom.test.ts` checks the
 * built-in list against the API server's resource table.
 *
 * @module
 */
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";

export interface GcResource {
  ref: ResourceRef;
  kind: string;
  namespaced: boolean;
}

const rbac = (resource: string): ResourceRef => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource,
});
const admission = (resource: string): ResourceRef => ({
  group: "admissionregistration.k8s.io",
  version: "v1",
  resource,
});

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
  { ref: REFS.horizontalpodautoscalers, kind: "HorizontalPodAutoscaler", namespaced: true },
  { ref: REFS.priorityclasses, kind: "PriorityClass", namespaced: false },
  { ref: REFS.runtimeclasses, kind: "RuntimeClass", namespaced: false },
  // issue 16: CRDs, webhook configurations, RBAC
  { ref: REFS.customresourcedefinitions, kind: "CustomResourceDefinition", namespaced: false },
  { ref: REFS.apiservices, kind: "APIService", namespaced: false },
  {
    ref: admission("mutatingwebhookconfigurations"),
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
  },
  {
    ref: admission("validatingwebhookconfigurations"),
    kind: "ValidatingWebhookConfiguration",
    namespaced: false,
  },
  {
    ref: admission("validatingadmissionpolicies"),
    kind: "ValidatingAdmissionPolicy",
    namespaced: false,
  },
  {
    ref: admission("validatingadmissionpolicybindings"),
    kind: "ValidatingAdmissionPolicyBinding",
    namespaced: false,
  },
  { ref: rbac("clusterroles"), kind: "ClusterRole", namespaced: false },
  { ref: rbac("clusterrolebindings"), kind: "ClusterRoleBinding", namespaced: false },
  { ref: rbac("roles"), kind: "Role", namespaced: true },
  { ref: rbac("rolebindings"), kind: "RoleBinding", namespaced: true },
];

interface CrdShape {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string };
    versions?: Array<{ name?: string; served?: boolean; storage?: boolean }>;
  };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

/**
 * The custom resources of the Established CRDs, each at its storage version when served, else
 * its first served version (an ownerReference names any version of the group: kinds match by
 * group and kind).
 */
export function customResources(crds: readonly KubeObject[]): GcResource[] {
  const out: GcResource[] = [];
  for (const crd of crds as ReadonlyArray<KubeObject & CrdShape>) {
    const spec = crd.spec;
    const established = crd.status?.conditions?.some(
      (c) => c.type === "Established" && c.status === "True",
    );
    if (!spec?.group || !spec.names?.plural || !spec.names.kind || !established) continue;
    const served = (spec.versions ?? []).filter((v) => v.served && v.name);
    const version = served.find((v) => v.storage) ?? served[0];
    if (!version?.name) continue;
    out.push({
      ref: { group: spec.group, version: version.name, resource: spec.names.plural },
      kind: spec.names.kind,
      namespaced: spec.scope === "Namespaced",
    });
  }
  return out;
}

/** `group/kind` of an ownerReference's `apiVersion` (`v1`, `apps/v1`) and kind. */
export function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf("/");
  return `${slash < 0 ? "" : apiVersion.slice(0, slash)}/${kind}`;
}

/** The same, for a resource. */
export function resourceGroupKind(res: GcResource): string {
  return `${res.ref.group}/${res.kind}`;
}

/** `apiVersion` + kind → resource among `resources`; undefined when not served. */
export function resourceForKind(
  apiVersion: string,
  kind: string,
  resources: readonly GcResource[] = GC_RESOURCES,
): GcResource | undefined {
  const gk = groupKind(apiVersion, kind);
  return resources.find((r) => resourceGroupKind(r) === gk);
}

/** A stable queue key for one object: `resource.group|namespace/name`. */
export function itemKey(res: GcResource, namespace: string, name: string): string {
  return `${resourceKey(res)}|${namespace}/${name}`;
}

/** `resource.group`, the resource part of an item key. */
export function resourceKey(res: GcResource): string {
  return `${res.ref.resource}.${res.ref.group}`;
}

export function parseItemKey(
  key: string,
  resources: readonly GcResource[] = GC_RESOURCES,
): { res: GcResource; namespace: string; name: string } | undefined {
  const bar = key.indexOf("|");
  const rg = key.slice(0, bar);
  const res = resources.find((r) => resourceKey(r) === rg);
  const rest = key.slice(bar + 1);
  const slash = rest.indexOf("/");
  if (!res || bar < 0 || slash < 0) return undefined;
  return { res, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
