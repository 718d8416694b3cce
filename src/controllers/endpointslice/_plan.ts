/**
 * Planning the EndpointSlices of one Service: which slices to create, update and delete so that
 * they hold exactly the desired endpoints, changing as few slices as possible (an endpoint stays
 * in the slice it is in; new endpoints fill free space before a new slice is made). A Service
 * with no endpoints keeps one empty placeholder slice, as kube's controller does.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice, Endpoint as SliceEndpoint } from "kubernetes-types/discovery/v1.js";
import { type PortGroup, portsKey } from "./_endpoints.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY = "endpointslice-controller.k8s.io";
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";

export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

export interface PlanOptions {
  maxEndpointsPerSlice: number;
  /**
   * RFC 3339 time written into the trigger-time annotation of the slices created or changed;
   * undefined removes the annotation from them (no new trigger since the last sync, as kube).
   */
  triggerTime: string | undefined;
}

function endpointKey(ep: SliceEndpoint): string {
  return ep.targetRef?.uid || ep.addresses.join(",");
}

function sliceLabels(service: Service): Record<string, string> {
  return {
    ...(service.metadata?.labels ?? {}),
    [SERVICE_NAME_LABEL]: service.metadata?.name ?? "",
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
}

function newSlice(
  service: Service,
  group: Pick<PortGroup, "ports">,
  endpoints: SliceEndpoint[],
  options: PlanOptions,
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      generateName: `${service.metadata?.name ?? ""}-`,
      namespace: service.metadata?.namespace ?? "",
      labels: sliceLabels(service),
      ...(options.triggerTime !== undefined
        ? { annotations: { [TRIGGER_TIME_ANNOTATION]: options.triggerTime } }
        : {}),
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "Service",
          name: service.metadata?.name ?? "",
          uid: service.metadata?.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: "IPv4",
    endpoints,
    ports: group.ports,
  };
}

/** The slice with new content, or undefined when nothing would change. */
function revised(
  slice: EndpointSlice,
  service: Service,
  endpoints: SliceEndpoint[],
  ports: PortGroup["ports"],
  options: PlanOptions,
): EndpointSlice | undefined {
  const labels = sliceLabels(service);
  const same =
    isDeepStrictEqual(slice.endpoints ?? [], endpoints) &&
    isDeepStrictEqual(slice.ports ?? [], ports) &&
    isDeepStrictEqual(slice.metadata?.labels ?? {}, labels);
  if (same) return undefined;
  const next = structuredClone(slice);
  next.endpoints = endpoints;
  next.ports = ports;
  const annotations = { ...(next.metadata?.annotations ?? {}) };
  if (options.triggerTime === undefined) delete annotations[TRIGGER_TIME_ANNOTATION];
  else annotations[TRIGGER_TIME_ANNOTATION] = options.triggerTime;
  next.metadata = { ...next.metadata, labels, annotations };
  return next;
}

export function planSlices(
  service: Service,
  groups: PortGroup[],
  existing: EndpointSlice[],
  options: PlanOptions,
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const max = options.maxEndpointsPerSlice;
  const byPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    const k = portsKey(s.ports ?? []);
    byPorts.set(k, [...(byPorts.get(k) ?? []), s]);
  }
  const total = groups.reduce((n, g) => n + g.endpoints.length, 0);

  if (total === 0) {
    // One placeholder slice without endpoints or ports; everything else goes.
    const [keep, ...rest] = [...existing].sort((a, b) =>
      (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
    if (keep) {
      const r = revised(keep, service, [], [], options);
      if (r) plan.update.push(r);
    } else {
      plan.create.push(newSlice(service, { ports: [] }, [], options));
    }
    plan.delete.push(...rest);
    return plan;
  }

  const usedKeys = new Set<string>();
  for (const group of groups) {
    usedKeys.add(group.key);
    const desired = new Map(group.endpoints.map((e) => [endpointKey(e), e]));
    const slices = (byPorts.get(group.key) ?? []).sort((a, b) =>
      (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
    const contents: SliceEndpoint[][] = [];
    for (const s of slices) {
      const kept: SliceEndpoint[] = [];
      for (const ep of s.endpoints ?? []) {
        const want = desired.get(endpointKey(ep));
        if (want) {
          kept.push(want);
          desired.delete(endpointKey(ep));
        }
      }
      contents.push(kept);
    }
    // New endpoints fill free space first, then new slices.
    const pending = [...desired.values()];
    for (const c of contents) {
      while (c.length < max && pending.length > 0) c.push(pending.shift()!);
    }
    slices.forEach((s, i) => {
      const eps = contents[i]!;
      if (eps.length === 0) {
        plan.delete.push(s);
        return;
      }
      const r = revised(s, service, eps, group.ports, options);
      if (r) plan.update.push(r);
    });
    while (pending.length > 0)
      plan.create.push(newSlice(service, group, pending.splice(0, max), options));
  }
  for (const [k, slices] of byPorts) if (!usedKeys.has(k)) plan.delete.push(...slices);
  return plan;
}
