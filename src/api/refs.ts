/**
 * References to the resources loopkube's components use, so no component spells a group or
 * version by hand.
 *
 * @module
 */
import type { ResourceRef } from "./verbs.ts";

const core = (resource: string): ResourceRef => ({ group: "", version: "v1", resource });
const apps = (resource: string): ResourceRef => ({ group: "apps", version: "v1", resource });
const networking = (resource: string): ResourceRef => ({
  group: "networking.k8s.io",
  version: "v1",
  resource,
});
const batch = (resource: string): ResourceRef => ({ group: "batch", version: "v1", resource });

export const REFS = {
  namespaces: core("namespaces"),
  pods: core("pods"),
  services: core("services"),
  endpoints: core("endpoints"),
  configmaps: core("configmaps"),
  secrets: core("secrets"),
  serviceaccounts: core("serviceaccounts"),
  events: core("events"),
  nodes: core("nodes"),
  persistentvolumeclaims: core("persistentvolumeclaims"),
  persistentvolumes: core("persistentvolumes"),
  deployments: apps("deployments"),
  replicasets: apps("replicasets"),
  statefulsets: apps("statefulsets"),
  controllerrevisions: apps("controllerrevisions"),
  jobs: batch("jobs"),
  cronjobs: batch("cronjobs"),
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
  leases: { group: "coordination.k8s.io", version: "v1", resource: "leases" },
  storageclasses: { group: "storage.k8s.io", version: "v1", resource: "storageclasses" },
  horizontalpodautoscalers: {
    group: "autoscaling",
    version: "v2",
    resource: "horizontalpodautoscalers",
  },
  // networking.k8s.io (issue 15, Ingress)
  ingresses: networking("ingresses"),
  ingressclasses: networking("ingressclasses"),
  networkpolicies: networking("networkpolicies"),
  priorityclasses: { group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses" },
  runtimeclasses: { group: "node.k8s.io", version: "v1", resource: "runtimeclasses" },
  daemonsets: apps("daemonsets"),
  replicationcontrollers: core("replicationcontrollers"),
  poddisruptionbudgets: { group: "policy", version: "v1", resource: "poddisruptionbudgets" },
  resourcequotas: core("resourcequotas"),
  limitranges: core("limitranges"),
  customresourcedefinitions: {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
  },
  apiservices: { group: "apiregistration.k8s.io", version: "v1", resource: "apiservices" },
} as const satisfies Record<string, ResourceRef>;

/** The same reference, addressing a subresource. */
export function sub(ref: ResourceRef, subresource: string): ResourceRef {
  return { ...ref, subresource };
}
