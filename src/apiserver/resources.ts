/**
 * The resource table: one entry per served resource, the single place that says what the API
 * serves. Discovery, OpenAPI, routing, storage keys and the in-process client all read it, so
 * adding a resource is one entry here plus its strategy in `src/api/kinds/`.
 *
 * @module
 */
import type { SchemaNode } from "../api/patch/index.ts";

export interface SubresourceInfo {
  name: string;
  /** The kind this subresource answers with, when not the parent's. */
  kind?: { group: string; version: string; kind: string };
  verbs: string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural, lower-case: `deployments`. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: SubresourceInfo[];
  /**
   * Set on a version served as a view of another: objects are stored in this version and
   * converted on the way in and out (`autoscaling/v1` HorizontalPodAutoscalers, stored as v2).
   */
  storageVersion?: string;
  /**
   * Set for a custom resource (served from a CustomResourceDefinition): where its scale
   * subresource reads and writes replicas, as the CRD's `subresources.scale` says; the warning
   * every request to a deprecated version gets; how server-side apply merges its lists and maps.
   */
  custom?: { scale?: CustomScalePaths; deprecationWarning?: string; apply?: ApplySchema };
}

/** Server-side apply's merge rules of a custom resource version (`api/patch`'s schema node). */
export type ApplySchema = SchemaNode;

/** A CRD's `subresources.scale` paths, dotted (`.spec.replicas`). */
export interface CustomScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];
const STATUS: SubresourceInfo = { name: "status", verbs: ["get", "patch", "update"] };
const SCALE: SubresourceInfo = {
  name: "scale",
  kind: { group: "autoscaling", version: "v1", kind: "Scale" },
  verbs: ["get", "patch", "update"],
};

interface Entry {
  kind: string;
  resource?: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  subresources?: SubresourceInfo[];
  storageVersion?: string;
}

function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith("s")) return `${lower}es`;
  if (lower.endsWith("y")) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function group(groupName: string, version: string, entries: Entry[]): ResourceInfo[] {
  return entries.map((e) => ({
    group: groupName,
    version,
    kind: e.kind,
    listKind: `${e.kind}List`,
    resource: e.resource ?? plural(e.kind),
    singular: e.kind.toLowerCase(),
    namespaced: e.namespaced ?? true,
    shortNames: e.shortNames ?? [],
    categories: e.categories ?? [],
    verbs: e.verbs ?? ALL_VERBS,
    subresources: e.subresources ?? [],
    ...(e.storageVersion ? { storageVersion: e.storageVersion } : {}),
  }));
}

/** Every resource loopkube serves, in discovery order. */
export const RESOURCES: readonly ResourceInfo[] = [
  ...group("", "v1", [
    {
      kind: "Namespace",
      namespaced: false,
      shortNames: ["ns"],
      subresources: [STATUS, { name: "finalize", verbs: ["update"] }],
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
      kind: "Pod",
      shortNames: ["po"],
      categories: ["all"],
      subresources: [
        STATUS,
        { name: "binding", kind: { group: "", version: "v1", kind: "Binding" }, verbs: ["create"] },
        { name: "log", verbs: ["get"] },
        {
          name: "attach",
          kind: { group: "", version: "v1", kind: "PodAttachOptions" },
          verbs: ["create", "get"],
        },
        {
          name: "exec",
          kind: { group: "", version: "v1", kind: "PodExecOptions" },
          verbs: ["create", "get"],
        },
        {
          name: "portforward",
          kind: { group: "", version: "v1", kind: "PodPortForwardOptions" },
          verbs: ["create", "get"],
        },
        {
          name: "eviction",
          kind: { group: "policy", version: "v1", kind: "Eviction" },
          verbs: ["create"],
        },
        { name: "ephemeralcontainers", verbs: ["get", "patch", "update"] },
      ],
    },
    {
      kind: "Service",
      shortNames: ["svc"],
      categories: ["all"],
      subresources: [STATUS],
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    },
    { kind: "Endpoints", resource: "endpoints", shortNames: ["ep"] },
    { kind: "ConfigMap", shortNames: ["cm"] },
    { kind: "Secret" },
    {
      kind: "ServiceAccount",
      shortNames: ["sa"],
      subresources: [
        {
          name: "token",
          kind: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" },
          verbs: ["create"],
        },
      ],
    },
    { kind: "Event", shortNames: ["ev"] },
    { kind: "Node", namespaced: false, shortNames: ["no"], subresources: [STATUS] },
    { kind: "PersistentVolumeClaim", shortNames: ["pvc"], subresources: [STATUS] },
    { kind: "PersistentVolume", namespaced: false, shortNames: ["pv"], subresources: [STATUS] },
    {
      kind: "ReplicationController",
      shortNames: ["rc"],
      categories: ["all"],
      subresources: [STATUS, SCALE],
    },
  ]),
  ...group("apps", "v1", [
    {
      kind: "Deployment",
      shortNames: ["deploy"],
      categories: ["all"],
      subresources: [STATUS, SCALE],
    },
    { kind: "ReplicaSet", shortNames: ["rs"], categories: ["all"], subresources: [STATUS, SCALE] },
    {
      kind: "StatefulSet",
      shortNames: ["sts"],
      categories: ["all"],
      subresources: [STATUS, SCALE],
    },
    { kind: "ControllerRevision" },
    { kind: "DaemonSet", shortNames: ["ds"], categories: ["all"], subresources: [STATUS] },
  ]),
  ...group("batch", "v1", [
    { kind: "Job", categories: ["all"], subresources: [STATUS] },
    { kind: "CronJob", shortNames: ["cj"], categories: ["all"], subresources: [STATUS] },
  ]),
  ...group("discovery.k8s.io", "v1", [{ kind: "EndpointSlice" }]),
  ...group("coordination.k8s.io", "v1", [{ kind: "Lease" }]),
  ...group("storage.k8s.io", "v1", [
    { kind: "StorageClass", namespaced: false, shortNames: ["sc"] },
  ]),
  // autoscaling: v2 first (the preferred and stored version), v1 a view converted to and from it.
  ...group("autoscaling", "v2", [
    {
      kind: "HorizontalPodAutoscaler",
      shortNames: ["hpa"],
      categories: ["all"],
      subresources: [STATUS],
    },
  ]),
  ...group("autoscaling", "v1", [
    {
      kind: "HorizontalPodAutoscaler",
      shortNames: ["hpa"],
      categories: ["all"],
      subresources: [STATUS],
      storageVersion: "v2",
    },
  ]),
  // networking.k8s.io (issue 15, Ingress)
  ...group("networking.k8s.io", "v1", [
    { kind: "Ingress", resource: "ingresses", shortNames: ["ing"], subresources: [STATUS] },
    { kind: "IngressClass", resource: "ingressclasses", namespaced: false },
    { kind: "NetworkPolicy", resource: "networkpolicies", shortNames: ["netpol"] },
  ]),
  ...group("scheduling.k8s.io", "v1", [
    { kind: "PriorityClass", namespaced: false, shortNames: ["pc"] },
  ]),
  ...group("node.k8s.io", "v1", [{ kind: "RuntimeClass", namespaced: false }]),
  ...group("policy", "v1", [
    { kind: "PodDisruptionBudget", shortNames: ["pdb"], subresources: [STATUS] },
  ]),
  ...group("", "v1", [
    { kind: "ResourceQuota", shortNames: ["quota"], subresources: [STATUS] },
    { kind: "LimitRange", shortNames: ["limits"] },
  ]),
  ...group("admissionregistration.k8s.io", "v1", [
    { kind: "MutatingWebhookConfiguration", namespaced: false, categories: ["api-extensions"] },
    { kind: "ValidatingWebhookConfiguration", namespaced: false, categories: ["api-extensions"] },
    {
      kind: "ValidatingAdmissionPolicy",
      namespaced: false,
      categories: ["api-extensions"],
      subresources: [STATUS],
    },
    { kind: "ValidatingAdmissionPolicyBinding", namespaced: false, categories: ["api-extensions"] },
  ]),
  ...group("rbac.authorization.k8s.io", "v1", [
    { kind: "ClusterRoleBinding", namespaced: false },
    { kind: "ClusterRole", namespaced: false },
    { kind: "RoleBinding" },
    { kind: "Role" },
  ]),
  ...group("authentication.k8s.io", "v1", [
    { kind: "SelfSubjectReview", namespaced: false, verbs: ["create"] },
    { kind: "TokenReview", namespaced: false, verbs: ["create"] },
  ]),
  ...group("authorization.k8s.io", "v1", [
    { kind: "LocalSubjectAccessReview", verbs: ["create"] },
    { kind: "SelfSubjectAccessReview", namespaced: false, verbs: ["create"] },
    { kind: "SelfSubjectRulesReview", namespaced: false, verbs: ["create"] },
    { kind: "SubjectAccessReview", namespaced: false, verbs: ["create"] },
  ]),
  ...group("apiextensions.k8s.io", "v1", [
    {
      kind: "CustomResourceDefinition",
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      subresources: [STATUS],
    },
  ]),
  ...group("apiregistration.k8s.io", "v1", [
    {
      kind: "APIService",
      namespaced: false,
      categories: ["api-extensions"],
      subresources: [STATUS],
    },
  ]),
];

const byGroupResource = new Map<string, ResourceInfo>();
const byGroupVersionResource = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  if (!r.storageVersion) byGroupResource.set(`${r.group}/${r.resource}`, r);
  byGroupVersionResource.set(`${r.group}/${r.version}/${r.resource}`, r);
}

/** The entry of a group and plural resource name in its stored version, if served. */
export function findResource(groupName: string, resource: string): ResourceInfo | undefined {
  return byGroupResource.get(`${groupName}/${resource}`);
}

/** The entry of a group, version and plural resource name, if that version is served. */
export function findResourceVersion(
  groupName: string,
  version: string,
  resource: string,
): ResourceInfo | undefined {
  return byGroupVersionResource.get(`${groupName}/${version}/${resource}`);
}

/** Group versions in discovery order: core first, then the named groups. */
export function servedGroups(): Array<{
  group: string;
  version: string;
  resources: ResourceInfo[];
}> {
  const out: Array<{ group: string; version: string; resources: ResourceInfo[] }> = [];
  for (const r of RESOURCES) {
    let g = out.find((x) => x.group === r.group && x.version === r.version);
    if (!g) {
      g = { group: r.group, version: r.version, resources: [] };
      out.push(g);
    }
    g.resources.push(r);
  }
  return out;
}

/** The store key of one object: `/<group or core>/<resource>/<namespace>/<name>`. */
export function storeKey(info: ResourceInfo, namespace: string, name: string): string {
  const g = info.group || "core";
  return info.namespaced
    ? `/${g}/${info.resource}/${namespace}/${name}`
    : `/${g}/${info.resource}/${name}`;
}

/** The store prefix of a list: the whole resource, or one namespace of it. */
export function storePrefix(info: ResourceInfo, namespace: string): string {
  const g = info.group || "core";
  return info.namespaced && namespace
    ? `/${g}/${info.resource}/${namespace}/`
    : `/${g}/${info.resource}/`;
}
