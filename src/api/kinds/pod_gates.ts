/**
 * Pod fields behind feature gates that a stock kube-apiserver 1.32 has off, and what it does with
 * them: it knows them (they decode, they are in its OpenAPI) but drops them before validation,
 * silently, in the pod strategy's PrepareForCreate/PrepareForUpdate (and for pod templates in the
 * workloads' strategies), unless the stored object already uses them, so that an object written
 * while a gate was on stays updatable. That is kube's `dropDisabledFields` and
 * `dropDisabledPodStatusFields` (pkg/api/pod/util.go), restricted to 1.32's gates and fields.
 *
 * The rules are data ({@link DISABLED_POD_FIELDS}); {@link dropDisabledPodFields} applies them.
 * Paths: `spec.x.y` names a field, `[]` every item of a list, `*containers` the three container
 * lists (containers, initContainers, ephemeralContainers), `*statuses` the three container status
 * lists.
 *
 * @module
 */
import { isObj, type Obj } from "./_util.ts";

/** How a rule removes what it finds. */
type Action =
  /** Delete the field (the default). */
  | "delete"
  /** Set it to `Default` (procMount: kube cannot drop a field it once forced to be set). */
  | "setDefault"
  /** Remove the image volumes and every mount of them. */
  | "removeImageVolumes";

export interface DisabledField {
  /** The feature gate, off by default in 1.32. */
  gate: string;
  /** The gate's stage in 1.32. */
  stage: "alpha" | "beta";
  /** What is dropped from a new or updated pod. */
  paths: string[];
  /** The fields whose presence in the old object means "in use"; default: `paths`. */
  inUse?: string[];
  /** A field set to one of these in the old object is not "in use" (procMount's `Default`). */
  notInUse?: unknown[];
  /** Dropped whether or not the old object uses it (kube 1.32 checks no old object here). */
  always?: boolean;
  action?: Action;
}

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"];
const STATUS_LISTS = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"];

export const DISABLED_POD_FIELDS: readonly DisabledField[] = [
  { gate: "PodLevelResources", stage: "alpha", paths: ["spec.resources"] },
  { gate: "UserNamespacesSupport", stage: "beta", paths: ["spec.hostUsers"] },
  {
    gate: "SupplementalGroupsPolicy",
    stage: "alpha",
    paths: ["spec.securityContext.supplementalGroupsPolicy", "status.*statuses[].user"],
    inUse: ["spec.securityContext.supplementalGroupsPolicy"],
  },
  {
    gate: "SELinuxChangePolicy",
    stage: "alpha",
    paths: ["spec.securityContext.seLinuxChangePolicy"],
  },
  {
    gate: "DynamicResourceAllocation",
    stage: "beta",
    paths: [
      "spec.resourceClaims",
      "spec.*containers[].resources.claims",
      "status.resourceClaimStatuses",
    ],
    inUse: ["spec.resourceClaims"],
  },
  {
    gate: "InPlacePodVerticalScaling",
    stage: "alpha",
    paths: [
      "spec.*containers[].resizePolicy",
      "status.*statuses[].resources",
      "status.*statuses[].allocatedResources",
    ],
    inUse: ["spec.containers[].resizePolicy", "spec.initContainers[].resizePolicy"],
  },
  {
    gate: "ResourceHealthStatus",
    stage: "alpha",
    paths: ["status.*statuses[].allocatedResourcesStatus"],
    always: true,
  },
  {
    gate: "ClusterTrustBundleProjection",
    stage: "alpha",
    paths: ["spec.volumes[].projected.sources[].clusterTrustBundle"],
  },
  {
    gate: "ImageVolume",
    stage: "alpha",
    paths: ["spec.volumes[].image"],
    action: "removeImageVolumes",
  },
  {
    gate: "ProcMountType",
    stage: "beta",
    paths: ["spec.*containers[].securityContext.procMount"],
    notInUse: ["Default"],
    action: "setDefault",
  },
];

/** Expands `*containers`/`*statuses` into the three concrete paths. */
function expand(path: string): string[] {
  if (path.includes("*containers")) {
    return CONTAINER_LISTS.map((list) => path.replace("*containers", list));
  }
  if (path.includes("*statuses"))
    return STATUS_LISTS.map((list) => path.replace("*statuses", list));
  return [path];
}

interface Slot {
  parent: Obj;
  key: string;
}

/** Every (parent, key) a path reaches in `root` whose parent exists (the key itself may not). */
function slots(root: unknown, path: string): Slot[] {
  let current: unknown[] = [root];
  const segments = path.split(".");
  const out: Slot[] = [];
  segments.forEach((segment, i) => {
    const list = segment.endsWith("[]");
    const key = list ? segment.slice(0, -2) : segment;
    const last = i === segments.length - 1;
    const next: unknown[] = [];
    for (const value of current) {
      if (!isObj(value)) continue;
      if (last && !list) out.push({ parent: value, key });
      const child = value[key];
      if (list) {
        if (Array.isArray(child)) next.push(...child);
      } else next.push(child);
    }
    current = next;
  });
  return out;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObj(value)) return Object.values(value).some(present);
  return true;
}

function inUse(rule: DisabledField, old: unknown): boolean {
  if (rule.always || old === undefined) return false;
  return (rule.inUse ?? rule.paths).flatMap(expand).some((path) =>
    slots(old, path).some(({ parent, key }) => {
      const value = parent[key];
      return present(value) && !(rule.notInUse ?? []).includes(value);
    }),
  );
}

function removeImageVolumes(pod: Obj): void {
  const spec = pod["spec"];
  if (!isObj(spec) || !Array.isArray(spec["volumes"])) return;
  const images = new Set<unknown>();
  spec["volumes"] = spec["volumes"].filter((v) => {
    if (isObj(v) && v["image"] !== undefined && v["image"] !== null) {
      images.add(v["name"]);
      return false;
    }
    return true;
  });
  for (const list of CONTAINER_LISTS) {
    for (const c of Array.isArray(spec[list]) ? spec[list] : []) {
      if (isObj(c) && Array.isArray(c["volumeMounts"])) {
        c["volumeMounts"] = c["volumeMounts"].filter((m) => !(isObj(m) && images.has(m["name"])));
      }
    }
  }
}

/**
 * Drops from `pod` (in place) every field of {@link DISABLED_POD_FIELDS} that `old` (the stored
 * pod, on update) does not already use. Works on a Pod and on a pod template alike (both have
 * `spec`; templates have no `status`).
 */
export function dropDisabledPodFields(pod: Obj, old?: Obj): void {
  for (const rule of DISABLED_POD_FIELDS) {
    if (inUse(rule, old)) continue;
    if (rule.action === "removeImageVolumes") {
      removeImageVolumes(pod);
      continue;
    }
    for (const path of rule.paths.flatMap(expand)) {
      for (const { parent, key } of slots(pod, path)) {
        if (parent[key] === undefined) continue;
        if (rule.action === "setDefault") parent[key] = "Default";
        else delete parent[key];
      }
    }
  }
}
