/**
 * The endpoints controller: keeps the legacy core/v1 Endpoints of each selector Service equal to
 * its pods (still read by older clients and by `kubectl get endpoints`). Keyed by Service;
 * Service, pod and Endpoints changes enqueue the Services they concern. An Endpoints object
 * without a Service is deleted, as kube's controller does for leftovers at start.
 *
 * @module
 */
import type { Endpoints, Pod, Service } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { enqueueServicesOfPods, selectPods } from "../_servicepods.ts";
import { TriggerTimeTracker } from "../_triggertime.ts";
import { reconcileEndpoints } from "./reconcile.ts";

export { planEndpoints } from "./_plan.ts";
export { desiredSubsets } from "./_subsets.ts";

export const NAME = "endpoint-controller";

export const startEndpointsController = defineController<{ maxAddresses?: number }>({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, onStop }, options) {
    const services = ctx.informers.get<Service & KubeObject>(REFS.services);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const endpoints = ctx.informers.get<Endpoints & KubeObject>(REFS.endpoints);
    /** What this controller last wrote, until the informer shows it (avoids a duplicate create). */
    const written = new Map<string, Endpoints>();
    const triggers = new TriggerTimeTracker();

    for (const remove of enqueueServicesOfPods(services, pods, (k) => queue.add(k))) onStop(remove);
    watch(services, { onDelete: (s) => triggers.forget(objectKey(s)) });
    watch(endpoints, {
      onAdd: (e) => queue.add(objectKey(e)),
      onUpdate: (_o, e) => queue.add(objectKey(e)),
      onDelete: (e) => queue.add(objectKey(e)),
    });

    const current = (ns: string, name: string): Endpoints | undefined => {
      const key = `${ns}/${name}`;
      const cached = endpoints.get(ns, name);
      const mine = written.get(key);
      if (!mine) return cached;
      if (
        cached &&
        Number(cached.metadata?.resourceVersion) >= Number(mine.metadata?.resourceVersion)
      ) {
        written.delete(key);
        return cached;
      }
      return mine;
    };
    const remember = (e: KubeObject) => written.set(objectKey(e), e as Endpoints);

    return (key) =>
      reconcileEndpoints(key, {
        getService: (ns, name) => services.get(ns, name),
        selectPods: (ns, selector) => selectPods(pods, ns, selector),
        getEndpoints: current,
        create: async (ep) => {
          remember(
            await ctx.client.create(REFS.endpoints, ep.metadata?.namespace ?? "", asKube(ep)),
          );
        },
        update: async (ep) => {
          remember(
            await ctx.client.update(REFS.endpoints, ep.metadata?.namespace ?? "", asKube(ep)),
          );
        },
        delete: async (ns, name) => {
          written.delete(`${ns}/${name}`);
          await ctx.client.delete(REFS.endpoints, ns, name).catch((e: unknown) => {
            if (!isStatusError(e, "NotFound")) throw e;
          });
        },
        triggerTime: (service, selected) => triggers.annotation(key, service, selected),
        ...(options.maxAddresses ? { maxAddresses: options.maxAddresses } : {}),
      });
  },
});
