/**
 * One reconcile of a Service's EndpointSlices: read the Service and its selected pods from the
 * informer caches, plan, and write the difference. Dependencies come in as plain functions so the
 * logic is tested without a server.
 *
 * @module
 */
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { splitKey } from "../../api/types.ts";
import { desiredGroups } from "./_endpoints.ts";
import { planSlices } from "./_plan.ts";

export interface EndpointSliceDeps {
  getService(namespace: string, name: string): Service | undefined;
  /** Pods of the namespace that the selector matches. */
  selectPods(namespace: string, selector: Record<string, string>): Pod[];
  /** Slices managed by this controller for the Service. */
  managedSlices(namespace: string, service: string): EndpointSlice[];
  createSlice(slice: EndpointSlice): Promise<void>;
  updateSlice(slice: EndpointSlice): Promise<void>;

  deleteSlice(slice: EndpointSlice): Promise<void>;
  /** The trigger-time annotation for this sync (see `../_triggertime.ts`); undefined drops it. */
  triggerTime(service: Service, pods: Pod[]): string | undefined;
  maxEndpointsPerSlice: number;
}

export async function reconcileEndpointSlices(key: string, deps: EndpointSliceDeps): Promise<void> {
  const { namespace, name } = splitKey(key);
  const service = deps.getService(namespace, name);
  // A deleted Service's slices go with it through their owner reference (garbage collector);
  // a Service without a selector has its slices managed by someone else.
  if (!service?.spec?.selector || service.metadata?.deletionTimestamp) return;
  if (service.spec.type === "ExternalName") return;
  const pods = deps.selectPods(namespace, service.spec.selector);
  const existing = deps.managedSlices(namespace, name);
  const plan = planSlices(service, desiredGroups(service, pods), existing, {
    maxEndpointsPerSlice: deps.maxEndpointsPerSlice,
    triggerTime: deps.triggerTime(service, pods),
  });
  // Creates and updates before deletes, as kube's reconciler orders them: an endpoint moving
  // between slices may briefly be listed twice, but is never missing.
  for (const s of plan.create) await deps.createSlice(s);
  for (const s of plan.update) await deps.updateSlice(s);
  for (const s of plan.delete) await deps.deleteSlice(s);
}
