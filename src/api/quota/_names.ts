/**
 * The resource names kube knows (`pkg/apis/core/helper`): which a quota, a container or a
 * LimitRange may name, which are integers, and the prefixes of requests, limits and hugepages.
 *
 * @module
 */

const HUGEPAGES = "hugepages-";

const QUOTA_OBJECT_COUNTS = [
  "pods",
  "services",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "services.nodeports",
  "services.loadbalancers",
];
const QUOTA_COMPUTE = [
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.storage",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
];
const STANDARD_QUOTA = new Set([...QUOTA_OBJECT_COUNTS, ...QUOTA_COMPUTE]);
const STANDARD = new Set([...STANDARD_QUOTA, "storage"]);
const STANDARD_CONTAINER = new Set(["cpu", "memory", "ephemeral-storage"]);
const INTEGER = new Set(QUOTA_OBJECT_COUNTS);

/** The scopes a quota may use, and the resources each may be applied to. */
export const QUOTA_SCOPES = [
  "Terminating",
  "NotTerminating",
  "BestEffort",
  "NotBestEffort",
  "PriorityClass",
  "CrossNamespacePodAffinity",
];
const POD_COMPUTE = new Set([
  "cpu",
  "memory",
  "limits.cpu",
  "limits.memory",
  "requests.cpu",
  "requests.memory",
]);

const isHugepages = (name: string) =>
  name.startsWith(HUGEPAGES) || name.startsWith(`requests.${HUGEPAGES}`);

export function isStandardQuotaResourceName(name: string): boolean {
  return STANDARD_QUOTA.has(name) || isHugepages(name);
}

export function isStandardResourceName(name: string): boolean {
  return STANDARD.has(name) || isHugepages(name);
}

export function isStandardContainerResourceName(name: string): boolean {
  return STANDARD_CONTAINER.has(name) || name.startsWith(HUGEPAGES);
}

export function isIntegerResourceName(name: string): boolean {
  return INTEGER.has(name);
}

/** `IsResourceQuotaScopeValidForResource`. */
export function scopeValidForResource(scope: string, resource: string): boolean {
  switch (scope) {
    case "Terminating":
    case "NotTerminating":
    case "NotBestEffort":
    case "PriorityClass":
    case "CrossNamespacePodAffinity":
      return resource === "pods" || POD_COMPUTE.has(resource);
    case "BestEffort":
      return resource === "pods";
    default:
      return true;
  }
}

/**
 * An extended resource (`example.com/dongle`): qualified with a domain outside
 * `kubernetes.io/`, and not itself a `requests.` name.
 */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes("/") || name.startsWith("requests.")) return false;
  const domain = name.slice(0, name.indexOf("/"));
  return domain !== "kubernetes.io" && !domain.endsWith(".kubernetes.io");
}
