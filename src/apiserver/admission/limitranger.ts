/**
 * LimitRanger admission, as kube-apiserver's plugin of that name (on by default):
 * - a pod created in a namespace with LimitRanges gets each `Container` item's `default` limits
 *   and `defaultRequest` requests in every container (init containers too) that states none for
 *   that resource, and the annotation `kubernetes.io/limit-ranger: LimitRanger plugin set: cpu
 *   request for container app; …` naming what was set;
 * - then every Container, Pod and PersistentVolumeClaim item's `min`, `max` and
 *   `maxLimitRequestRatio` are enforced, refusing with kube's 403 and wording
 *   (`pods "x" is forbidden: minimum cpu usage per Container is 100m, but request is 50m`; several
 *   failures in one `[a, b]` list).
 * Pods are checked on create only (their resources cannot change afterwards); claims on create
 * and update. Items are read in the order kube lists them (by name), resources in name order.
 *
 * @module
 */
import { StatusError } from "../../api/errors.ts";
import {
  compareQuantity,
  formatQuantity,
  type Quantity,
  quantity,
  quantityValue,
} from "../../api/quantity.ts";
import { podResources, type ResourceList } from "../../api/quota/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, storePrefix } from "../resources.ts";

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

type Obj = Record<string, unknown>;
interface Container {
  name?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}
interface Item {
  type?: string;
  max?: Record<string, unknown>;
  min?: Record<string, unknown>;
  default?: Record<string, unknown>;
  defaultRequest?: Record<string, unknown>;
  maxLimitRequestRatio?: Record<string, unknown>;
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function list(v: unknown): ResourceList {
  const out: ResourceList = {};
  if (!isObj(v)) return out;
  for (const [k, raw] of Object.entries(v)) {
    try {
      out[k] = quantity(raw as string);
    } catch {
      // Validation reports a bad quantity; here it counts as absent.
    }
  }
  return out;
}

function itemsOf(ranges: KubeObject[], type: string): Item[] {
  const sorted = [...ranges].sort((a, b) =>
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  return sorted.flatMap((lr) => {
    const limits = (lr.spec as { limits?: Item[] } | undefined)?.limits ?? [];
    return limits.filter((i) => i.type === type);
  });
}

function containersOf(pod: KubeObject): Array<{ c: Container; init: boolean }> {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  return [
    ...(spec.containers ?? []).map((c) => ({ c, init: false })),
    ...(spec.initContainers ?? []).map((c) => ({ c, init: true })),
  ];
}

/**
 * Puts the LimitRanges' container defaults into a pod (mutating it) and records them in the
 * `kubernetes.io/limit-ranger` annotation; returns whether anything was set.
 */
export function applyLimitRangeDefaults(pod: KubeObject, ranges: KubeObject[]): boolean {
  const defaultLimits: Record<string, unknown> = {};
  const defaultRequests: Record<string, unknown> = {};
  for (const item of itemsOf(ranges, "Container")) {
    for (const [k, v] of Object.entries(item.default ?? {})) defaultLimits[k] ??= v;
    for (const [k, v] of Object.entries(item.defaultRequest ?? {})) defaultRequests[k] ??= v;
  }
  const notes: string[] = [];
  for (const { c, init } of containersOf(pod)) {
    const setRequests: string[] = [];
    const setLimits: string[] = [];
    const limits = { ...c.resources?.limits };
    const requests = { ...c.resources?.requests };
    for (const [k, v] of Object.entries(defaultLimits)) {
      if (limits[k] !== undefined) continue;
      limits[k] = v;
      setLimits.push(k);
    }
    for (const [k, v] of Object.entries(defaultRequests)) {
      if (requests[k] !== undefined) continue;
      requests[k] = v;
      setRequests.push(k);
    }
    if (setLimits.length > 0 || setRequests.length > 0) {
      c.resources = { ...c.resources };
      if (Object.keys(limits).length > 0) c.resources.limits = limits;
      if (Object.keys(requests).length > 0) c.resources.requests = requests;
    }
    const where = `${init ? "init container" : "container"} ${c.name ?? ""}`;
    if (setRequests.length > 0) notes.push(`${setRequests.sort().join(", ")} request for ${where}`);
    if (setLimits.length > 0) notes.push(`${setLimits.sort().join(", ")} limit for ${where}`);
  }
  if (notes.length === 0) return false;
  pod.metadata.annotations = {
    ...pod.metadata.annotations,
    [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}`,
  };
  return true;
}

const show = formatQuantity;

function minConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: ResourceList,
  limits: ResourceList,
): string | undefined {
  const request = requests[name];
  const limit = limits[name];
  if (!request)
    return `minimum ${name} usage per ${type} is ${show(enforced)}.  No request is specified`;
  if (compareQuantity(request, enforced) < 0)
    return `minimum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request)}`;
  if (limit && compareQuantity(limit, enforced) < 0)
    return `minimum ${name} usage per ${type} is ${show(enforced)}, but limit is ${show(limit)}`;
  return undefined;
}

function maxConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: ResourceList,
  limits: ResourceList,
): string | undefined {
  const request = requests[name];
  const limit = limits[name];
  if (!limit)
    return `maximum ${name} usage per ${type} is ${show(enforced)}.  No limit is specified`;
  if (compareQuantity(limit, enforced) > 0)
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but limit is ${show(limit)}`;
  if (request && compareQuantity(request, enforced) > 0)
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request)}`;
  return undefined;
}

function maxRequestConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: ResourceList,
): string | undefined {
  const request = requests[name];
  if (!request)
    return `maximum ${name} usage per ${type} is ${show(enforced)}.  No request is specified`;
  if (compareQuantity(request, enforced) > 0)
    return `maximum ${name} usage per ${type} is ${show(enforced)}, but request is ${show(request)}`;
  return undefined;
}

/** Go's `%f`: six decimals. */
const goFloat = (n: number) => n.toFixed(6);

function ratioConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  requests: ResourceList,
  limits: ResourceList,
): string | undefined {
  const request = requests[name];
  const limit = limits[name];
  const prefix = `${name} max limit to request ratio per ${type} is ${show(enforced)}`;
  if (!request || request.nanos === 0n)
    return `${prefix}, but no request is specified or request is 0`;
  if (!limit || limit.nanos === 0n) return `${prefix}, but no limit is specified or limit is 0`;
  const observed = Number(limit.nanos) / Number(request.nanos);
  // kube compares in thousandths (MilliValue) for ratios that fit.
  const enforcedMilli = Number(
    quantityValue({ nanos: enforced.nanos * 1000n, format: "DecimalSI" }),
  );
  if (observed * 1000 > enforcedMilli)
    return `${prefix}, but provided ratio is ${goFloat(observed)}`;
  return undefined;
}

function checkItem(
  type: string,
  item: Item,
  requests: ResourceList,
  limits: ResourceList,
  errors: string[],
): void {
  const sorted = (v: Record<string, unknown> | undefined) =>
    Object.entries(list(v)).sort(([a], [b]) => a.localeCompare(b));
  for (const [k, q] of sorted(item.min)) {
    const e = minConstraint(type, k, q, requests, limits);
    if (e) errors.push(e);
  }
  for (const [k, q] of sorted(item.max)) {
    const e = maxConstraint(type, k, q, requests, limits);
    if (e) errors.push(e);
  }
  for (const [k, q] of sorted(item.maxLimitRequestRatio)) {
    const e = ratioConstraint(type, k, q, requests, limits);
    if (e) errors.push(e);
  }
}

/** The LimitRanges' min/max/ratio refusals of a pod, in kube's order and words. */
export function podLimitErrors(pod: KubeObject, ranges: KubeObject[]): string[] {
  const errors: string[] = [];
  for (const item of itemsOf(ranges, "Container")) {
    for (const { c } of containersOf(pod)) {
      checkItem("Container", item, list(c.resources?.requests), list(c.resources?.limits), errors);
    }
  }
  for (const item of itemsOf(ranges, "Pod")) {
    checkItem("Pod", item, podResources(pod, "requests"), podResources(pod, "limits"), errors);
  }
  return errors;
}

/** The LimitRanges' refusals of a PersistentVolumeClaim's storage request. */
export function claimLimitErrors(claim: KubeObject, ranges: KubeObject[]): string[] {
  const errors: string[] = [];
  const requests = list(((claim.spec as Obj | undefined)?.resources as Obj | undefined)?.requests);
  for (const item of itemsOf(ranges, "PersistentVolumeClaim")) {
    for (const [k, q] of Object.entries(list(item.min)).sort(([a], [b]) => a.localeCompare(b))) {
      const e = minConstraint("PersistentVolumeClaim", k, q, requests, {});
      if (e) errors.push(e);
    }
    for (const [k, q] of Object.entries(list(item.max)).sort(([a], [b]) => a.localeCompare(b))) {
      const e = maxRequestConstraint("PersistentVolumeClaim", k, q, requests);
      if (e) errors.push(e);
    }
  }
  return errors;
}

/** utilerrors.NewAggregate's message: one error alone, several as `[a, b]`. */
export function aggregateMessage(errors: string[]): string {
  return errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]`;
}

/** `pods "x" is forbidden: …`, as admission.NewForbidden words it. */
export function admissionForbidden(resource: string, obj: KubeObject, why: string): StatusError {
  const name = obj.metadata.name || obj.metadata.generateName || "";
  const message = name
    ? `${resource} "${name}" is forbidden: ${why}`
    : `${resource} is forbidden: ${why}`;
  return new StatusError(403, "Forbidden", message, {
    kind: resource.split(".")[0] ?? resource,
    ...(name ? { name } : {}),
  });
}

const LIMIT_RANGES = findResource("", "limitranges");

export function limitRangerAdmission(store: Store): Admission {
  const rangesIn = (ns: string) =>
    LIMIT_RANGES ? store.list(storePrefix(LIMIT_RANGES, ns)).items : [];
  return {
    create(info, obj) {
      if (info.group !== "") return undefined;
      if (info.resource === "pods") {
        const ranges = rangesIn(obj.metadata.namespace ?? "");
        if (ranges.length === 0) return undefined;
        applyLimitRangeDefaults(obj, ranges);
        const errors = podLimitErrors(obj, ranges);
        if (errors.length > 0) throw admissionForbidden("pods", obj, aggregateMessage(errors));
      } else if (info.resource === "persistentvolumeclaims") {
        const errors = claimLimitErrors(obj, rangesIn(obj.metadata.namespace ?? ""));
        if (errors.length > 0)
          throw admissionForbidden("persistentvolumeclaims", obj, aggregateMessage(errors));
      }
      return undefined;
    },
    update(info, obj, old) {
      if (info.group !== "" || info.resource !== "persistentvolumeclaims") return undefined;
      const storage = (o: KubeObject) => JSON.stringify((o.spec as Obj | undefined)?.resources);
      if (storage(obj) === storage(old)) return undefined;
      const errors = claimLimitErrors(obj, rangesIn(obj.metadata.namespace ?? ""));
      if (errors.length > 0)
        throw admissionForbidden("persistentvolumeclaims", obj, aggregateMessage(errors));
      return undefined;
    },
  };
}
