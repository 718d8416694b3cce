/**
 * One evaluator per kind of object quota charges, as kube's quota registry has them: pods
 * (compute and counts, scopes), services (counts, node ports, load balancers), claims (counts
 * and storage, per storage class too), and the object count `count/<resource>.<group>` of any
 * other resource (with the legacy names `configmaps`, `secrets`, `replicationcontrollers`,
 * `resourcequotas`). Scopes apply to pods only: a scoped quota matches no other object.
 *
 * @module
 */
import { quantity } from "../quantity.ts";
import type { ResourceList } from "./_list.ts";
import {
  podConstraints,
  podMatchesScope,
  podMatchingResources,
  podUsage,
  type ScopeRequirement,
} from "./_pods.ts";

type Obj = Record<string, unknown>;

export interface Evaluator {
  group: string;
  resource: string;
  /** The names among `names` this evaluator charges. */
  matchingResources(names: string[]): string[];
  usage(obj: Obj, now: number): ResourceList;
  matchesScope(req: ScopeRequirement, obj: Obj): boolean;
  /** kube's "must specify …" check; undefined when satisfied. */
  constraints(required: string[], obj: Obj): string | undefined;
  /** Whether an update is charged for what it adds (services and claims; pods are not). */
  chargesUpdates: boolean;
}

const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";
const LEGACY_COUNTS: Record<string, string> = {
  configmaps: "configmaps",
  secrets: "secrets",
  replicationcontrollers: "replicationcontrollers",
  resourcequotas: "resourcequotas",
};

/** `count/deployments.apps` for a grouped resource, `count/pods` for core. */
export function countName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

/** The group and resource a `count/…` name counts, or undefined for other names. */
export function parseCountName(name: string): { group: string; resource: string } | undefined {
  if (!name.startsWith("count/")) return undefined;
  const rest = name.slice("count/".length);
  const dot = rest.indexOf(".");
  return dot < 0
    ? { group: "", resource: rest }
    : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
}

const one = () => quantity("1");
const noScope = () => false;
const noConstraints = () => undefined;

function generic(group: string, resource: string): Evaluator {
  const count = countName(group, resource);
  const legacy = group === "" ? LEGACY_COUNTS[resource] : undefined;
  const names = new Set([count, ...(legacy ? [legacy] : [])]);
  return {
    group,
    resource,
    matchingResources: (hard) => hard.filter((n) => names.has(n)),
    usage: () => Object.fromEntries([...names].map((n) => [n, one()])),
    matchesScope: noScope,
    constraints: noConstraints,
    chargesUpdates: false,
  };
}

const pods: Evaluator = {
  group: "",
  resource: "pods",
  matchingResources: podMatchingResources,
  usage: podUsage,
  matchesScope: podMatchesScope,
  constraints: podConstraints,
  chargesUpdates: false,
};

const SERVICE_NAMES = new Set([
  "count/services",
  "services",
  "services.loadbalancers",
  "services.nodeports",
]);

const services: Evaluator = {
  group: "",
  resource: "services",
  matchingResources: (hard) => hard.filter((n) => SERVICE_NAMES.has(n)),
  usage(svc) {
    const spec = (svc.spec ?? {}) as {
      type?: string;
      ports?: Array<{ nodePort?: number }>;
      allocateLoadBalancerNodePorts?: boolean;
    };
    const ports = spec.ports ?? [];
    let nodePorts = 0;
    if (spec.type === "NodePort") nodePorts = ports.length;
    if (spec.type === "LoadBalancer") {
      nodePorts =
        spec.allocateLoadBalancerNodePorts === false
          ? ports.filter((p) => (p.nodePort ?? 0) !== 0).length
          : ports.length;
    }
    return {
      "count/services": one(),
      services: one(),
      "services.loadbalancers": quantity(spec.type === "LoadBalancer" ? 1 : 0),
      "services.nodeports": quantity(nodePorts),
    };
  },
  matchesScope: noScope,
  constraints: noConstraints,
  chargesUpdates: true,
};

/** A claim's storage request, rounded up to whole bytes (kube issue 94313). */
function claimStorage(pvc: Obj) {
  const raw = ((pvc.spec as Obj | undefined)?.resources as Obj | undefined)?.requests as
    | Obj
    | undefined;
  const storage = raw?.storage;
  if (typeof storage !== "string" && typeof storage !== "number") return undefined;
  try {
    const q = quantity(storage);
    const whole = 1_000_000_000n;
    const rem = q.nanos % whole;
    return rem === 0n
      ? q
      : { nanos: q.nanos - rem + (q.nanos > 0n ? whole : 0n), format: q.format };
  } catch {
    return undefined;
  }
}

const claims: Evaluator = {
  group: "",
  resource: "persistentvolumeclaims",
  matchingResources: (hard) =>
    hard.filter(
      (n) =>
        n === "count/persistentvolumeclaims" ||
        n === "persistentvolumeclaims" ||
        n === "requests.storage" ||
        (n.includes(STORAGE_CLASS_SUFFIX) &&
          (n.endsWith("/requests.storage") || n.endsWith("/persistentvolumeclaims"))),
    ),
  usage(pvc) {
    const out: ResourceList = {
      "count/persistentvolumeclaims": one(),
      persistentvolumeclaims: one(),
    };
    const className = (pvc.spec as Obj | undefined)?.storageClassName;
    const cls = typeof className === "string" && className ? className : undefined;
    if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`] = one();
    const storage = claimStorage(pvc);
    if (storage) {
      out["requests.storage"] = storage;
      if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`] = storage;
    }
    return out;
  },
  matchesScope: noScope,
  constraints: noConstraints,
  chargesUpdates: true,
};

const BUILT_IN = new Map(
  [pods, services, claims].map((e) => [`${e.group}/${e.resource}`, e] as const),
);

/** The evaluator of a resource: a dedicated one, or the object count. */
export function evaluatorFor(group: string, resource: string): Evaluator {
  return BUILT_IN.get(`${group}/${resource}`) ?? generic(group, resource);
}

/**
 * The evaluators a quota's hard names call for: pods, services and claims when they name
 * something those charge, the legacy counts, and every `count/…` resource.
 */
export function evaluatorsForNames(names: string[]): Evaluator[] {
  const out = new Map<string, Evaluator>();
  const add = (e: Evaluator) => {
    if (e.matchingResources(names).length > 0) out.set(`${e.group}/${e.resource}`, e);
  };
  for (const e of BUILT_IN.values()) add(e);
  for (const legacy of Object.keys(LEGACY_COUNTS)) add(generic("", legacy));
  for (const n of names) {
    const c = parseCountName(n);
    if (c) add(evaluatorFor(c.group, c.resource));
  }
  return [...out.values()];
}
