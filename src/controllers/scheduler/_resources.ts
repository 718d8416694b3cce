/**
 * Resource requests as kube-scheduler's NodeResourcesFit filter reads them
 * (`pkg/scheduler/framework/plugins/noderesources/fit.go`, `computePodResourceRequest`): app
 * containers (and restartable init containers, the sidecars, which run beside them) are summed,
 * a regular init container runs alone so the pod needs at least the largest of them, and
 * `spec.overhead` comes on top. Quantities are kept in thousandths, rounded up as kube's
 * `MilliValue` does, so that sums of `100m` stay exact.
 *
 * Pure functions.
 *
 * @module
 */
import type { Container, Node, Pod } from "kubernetes-types/core/v1.js";
import { parseQuantity } from "../../api/quantity.ts";

/** Resource name → thousandths of its unit (millicores, millibytes); only non-zero entries. */
export type Resources = Readonly<Record<string, number>>;

export const NO_RESOURCES: Resources = Object.freeze({});

function milli(q: string | number): number {
  try {
    return Math.ceil(parseQuantity(q) * 1000);
  } catch {
    return 0; // validation rejects bad quantities before a pod is stored
  }
}

/** A resource list in thousandths, zero entries left out. */
function inMilli(
  list: Readonly<Record<string, string | number>> | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, q] of Object.entries(list ?? {})) {
    const v = milli(q);
    if (v > 0) out[name] = v;
  }
  return out;
}

const requestsOf = (c: Container) => inMilli(c.resources?.requests);

/** What the pod asks a node for, as NodeResourcesFit computes it. */
export function podRequests(pod: Pod): Resources {
  const spec = pod.spec;
  if (!spec) return NO_RESOURCES;
  const sum: Record<string, number> = {};
  const add = (into: Record<string, number>, r: Readonly<Record<string, number>>) => {
    for (const [k, v] of Object.entries(r)) into[k] = (into[k] ?? 0) + v;
  };
  for (const c of spec.containers ?? []) add(sum, requestsOf(c));
  for (const c of spec.initContainers ?? [])
    if (c.restartPolicy === "Always") add(sum, requestsOf(c));
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === "Always") continue;
    for (const [k, v] of Object.entries(requestsOf(c))) if (v > (sum[k] ?? 0)) sum[k] = v;
  }
  add(sum, inMilli(spec.overhead));
  return Object.keys(sum).length === 0 ? NO_RESOURCES : sum;
}

/** The node's allocatable resources but `pods` (counted apart), in thousandths. */
export function allocatable(node: Node): Resources {
  const out: Record<string, number> = {};
  for (const [name, q] of Object.entries(node.status?.allocatable ?? {})) {
    if (name !== "pods") out[name] = milli(q);
  }
  return out;
}

/**
 * The resources the node lacks for the request, given what its pods already requested, as
 * kube words them ("Insufficient cpu"), in the order of the request's names.
 */
export function shortfalls(
  request: Resources,
  node: Resources,
  requested: Readonly<Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [name, want] of Object.entries(request)) {
    if (want > (node[name] ?? 0) - (requested[name] ?? 0)) out.push(`Insufficient ${name}`);
  }
  return out;
}
