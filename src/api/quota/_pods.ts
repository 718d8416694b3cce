/**
 * What a pod is charged, as kube's pod quota evaluator reckons it: the object count always
 * (`count/pods`), and, unless the pod is terminal or stuck past its deletion grace, `pods` and its
 * compute requests and limits summed as kube's PodRequests/PodLimits do (app containers added,
 * sidecars added, init containers taking the maximum, overhead on top); the scopes it falls in
 * (Terminating, BestEffort, PriorityClass, CrossNamespacePodAffinity); and the "must specify"
 * rule for cpu and memory quotas.
 *
 * @module
 */
import { podQOSClass } from "../kinds/pod.ts";
import { addQuantity, compareQuantity, type Quantity, quantity } from "../quantity.ts";
import { addLists, parseResourceList, type ResourceList } from "./_list.ts";
import { isExtendedResourceName } from "./_names.ts";

type Obj = Record<string, unknown>;
const ONE = (): Quantity => quantity("1");

export interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

const POD_RESOURCES = new Set([
  "count/pods",
  "pods",
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
]);

/** Resources whose quota makes every container state its own request or limit. */
const MUST_SPECIFY = new Set([
  "cpu",
  "memory",
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
]);

export function podMatchingResources(names: string[]): string[] {
  return names.filter(
    (n) =>
      POD_RESOURCES.has(n) ||
      n.startsWith("hugepages-") ||
      n.startsWith("requests.hugepages-") ||
      (n.startsWith("requests.") && isExtendedResourceName(n.slice("requests.".length))),
  );
}

const spec = (pod: Obj): Obj => (pod.spec ?? {}) as Obj;
const containers = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const resourcesOf = (c: Obj, kind: "requests" | "limits"): ResourceList =>
  parseResourceList((c.resources as Obj | undefined)?.[kind]);

function maxLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, v] of Object.entries(b)) if (!out[k] || compareQuantity(v, out[k]) > 0) out[k] = v;
  return out;
}

/** kube's PodRequests (or PodLimits): what the pod as a whole asks for. */
export function podResources(pod: Obj, kind: "requests" | "limits"): ResourceList {
  const s = spec(pod);
  let total: ResourceList = {};
  for (const c of containers(s.containers)) total = addLists(total, resourcesOf(c, kind));
  let sidecars: ResourceList = {};
  let init: ResourceList = {};
  for (const c of containers(s.initContainers)) {
    let own = resourcesOf(c, kind);
    if (c.restartPolicy === "Always") {
      total = addLists(total, own);
      sidecars = addLists(sidecars, own);
      own = sidecars;
    } else {
      own = addLists(own, sidecars);
    }
    init = maxLists(init, own);
  }
  total = maxLists(total, init);
  const overhead = parseResourceList(s.overhead);
  if (kind === "requests") return addLists(total, overhead);
  for (const [k, v] of Object.entries(overhead)) if (total[k]) total[k] = addQuantity(total[k], v);
  return total;
}

/** podComputeUsageHelper: the quota names a set of requests and limits charges. */
export function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: ONE() };
  for (const r of ["cpu", "memory", "ephemeral-storage"]) {
    if (requests[r]) {
      out[r] = requests[r];
      out[`requests.${r}`] = requests[r];
    }
    if (limits[r]) out[`limits.${r}`] = limits[r];
  }
  for (const [r, q] of Object.entries(requests)) {
    if (r.startsWith("hugepages-")) {
      out[r] = q;
      out[`requests.${r}`] = q;
    }
    if (isExtendedResourceName(r)) out[`requests.${r}`] = q;
  }
  return out;
}

/** QuotaV1Pod: terminal pods and pods stuck past their deletion grace are not charged. */
export function podIsCharged(pod: Obj, now: number): boolean {
  const phase = (pod.status as Obj | undefined)?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const meta = (pod.metadata ?? {}) as {
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  if (meta.deletionTimestamp && meta.deletionGracePeriodSeconds !== undefined) {
    const end = Date.parse(meta.deletionTimestamp) + meta.deletionGracePeriodSeconds * 1000;
    if (now > end) return false;
  }
  return true;
}

export function podUsage(pod: Obj, now: number): ResourceList {
  const count: ResourceList = { "count/pods": ONE() };
  if (!podIsCharged(pod, now)) return count;
  return addLists(count, computeUsage(podResources(pod, "requests"), podResources(pod, "limits")));
}

function isTerminating(pod: Obj): boolean {
  const d = spec(pod).activeDeadlineSeconds;
  return typeof d === "number" && d >= 0;
}

function usesCrossNamespaceAffinity(pod: Obj): boolean {
  const affinity = (spec(pod).affinity ?? {}) as Obj;
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    const a = (affinity[kind] ?? {}) as Obj;
    const required = containers(a.requiredDuringSchedulingIgnoredDuringExecution);
    const preferred = containers(a.preferredDuringSchedulingIgnoredDuringExecution).map(
      (w) => (w.podAffinityTerm ?? {}) as Obj,
    );
    for (const term of [...required, ...preferred]) {
      if (Array.isArray(term.namespaces) && term.namespaces.length > 0) return true;
      if (term.namespaceSelector !== undefined && term.namespaceSelector !== null) return true;
    }
  }
  return false;
}

/** podMatchesScopeFunc: whether a pod falls in one scope requirement. */
export function podMatchesScope(req: ScopeRequirement, pod: Obj): boolean {
  switch (req.scopeName) {
    case "Terminating":
      return isTerminating(pod);
    case "NotTerminating":
      return !isTerminating(pod);
    case "BestEffort":
      return podQOSClass(spec(pod)) === "BestEffort";
    case "NotBestEffort":
      return podQOSClass(spec(pod)) !== "BestEffort";
    case "CrossNamespacePodAffinity":
      return usesCrossNamespaceAffinity(pod);
    case "PriorityClass": {
      const name =
        typeof spec(pod).priorityClassName === "string" ? String(spec(pod).priorityClassName) : "";
      const values = req.values ?? [];
      switch (req.operator) {
        case "Exists":
          return name !== "";
        case "DoesNotExist":
          return name === "";
        case "In":
          return name !== "" && values.includes(name);
        case "NotIn":
          return name === "" || !values.includes(name);
        default:
          return false;
      }
    }
    default:
      return false;
  }
}

/**
 * The pod evaluator's Constraints: with cpu or memory under quota, every container must state
 * that request or limit. Returns kube's `must specify limits.cpu for: a,b; …` or undefined.
 */
export function podConstraints(required: string[], pod: Obj): string | undefined {
  const wanted = required.filter((r) => MUST_SPECIFY.has(r));
  if (wanted.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  const s = spec(pod);
  for (const c of [...containers(s.containers), ...containers(s.initContainers)]) {
    const has = computeUsage(resourcesOf(c, "requests"), resourcesOf(c, "limits"));
    for (const r of wanted) {
      if (has[r]) continue;
      const names = missing.get(r) ?? new Set<string>();
      names.add(typeof c.name === "string" ? c.name : "");
      missing.set(r, names);
    }
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()]
    .sort()
    .map((r) => `${r} for: ${[...(missing.get(r) ?? [])].sort().join(",")}`);
  return `must specify ${parts.join("; ")}`;
}
