/**
 * The EndpointSlice controller: keeps each selector Service's EndpointSlices equal to its ready
 * (and not ready) pods, keyed by Service. Pod, Service and slice changes enqueue the Services they
 * concern; the reconcile itself is level-based (`reconcile.ts`).
 *
 * @module
 */
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { enqueueServicesOfPods, selectPods } from "../_servicepods.ts";
import { TriggerTimeTracker } from "../_triggertime.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from "./_plan.ts";
import { SliceTracker } from "./_tracker.ts";
import { reconcileEndpointSlices } from "./reconcile.ts";

export const NAME = "endpointslice-controller";
const SLICE_BY_SERVICE = "by-service";

export const startEndpointSliceController = defineController<{ maxEndpointsPerSlice?: number }>({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, onStop }, options) {
    const services = ctx.informers.get<Service & KubeObject>(REFS.services);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const slices = ctx.informers.get<EndpointSlice & KubeObject>(REFS.endpointslices);
    slices.index(SLICE_BY_SERVICE, (s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      const managed = s.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
      return svc && managed ? [`${s.metadata?.namespace ?? ""}/${svc}`] : [];
    });
    const tracker = new SliceTracker();
    const triggers = new TriggerTimeTracker();

    for (const remove of enqueueServicesOfPods(services, pods, (k) => queue.add(k))) onStop(remove);
    watch(slices, {
      onAdd: (s) => enqueueSlice(s, false),
      onUpdate: (_o, s) => enqueueSlice(s, false),
      onDelete: (s) => enqueueSlice(s, true),
    });
    watch(services, { onDelete: (s) => triggers.forget(objectKey(s)) });
    function enqueueSlice(s: EndpointSlice, deleted: boolean) {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!svc || s.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return;
      const key = `${s.metadata?.namespace ?? ""}/${svc}`;
      // The echo of our own write changes nothing: reconciling again would cost a full pass over
      // the Service's pods for every slice written (O(N²) over a rollout of N pods).
      if (!tracker.isOwnEcho(key, s, deleted)) queue.add(key);
    }

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    return (key) =>
      reconcileEndpointSlices(key, {
        getService: (ns, name) => services.get(ns, name),
        selectPods: (ns, selector) => selectPods(pods, ns, selector),
        managedSlices: (ns, name) =>
          tracker.view(key, slices.byIndex(SLICE_BY_SERVICE, `${ns}/${name}`)),
        createSlice: async (s) => {
          const created = await ctx.client.create(
            REFS.endpointslices,
            s.metadata?.namespace ?? "",
            asKube(s),
          );
          tracker.wrote(key, typed<EndpointSlice>(created));
        },
        updateSlice: async (s) => {
          const updated = await ctx.client.update(
            REFS.endpointslices,
            s.metadata?.namespace ?? "",
            asKube(s),
          );
          tracker.wrote(key, typed<EndpointSlice>(updated));
        },
        deleteSlice: async (s) => {
          await ctx.client
            .delete(REFS.endpointslices, s.metadata?.namespace ?? "", s.metadata?.name ?? "")
            .catch(ignoreNotFound);
          tracker.deleted(key, s);
        },
        triggerTime: (service, selected) => triggers.annotation(key, service, selected),
        maxEndpointsPerSlice: options.maxEndpointsPerSlice ?? 100,
      });
  },
});
