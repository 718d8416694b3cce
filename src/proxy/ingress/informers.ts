/**
 * Feeding the ingress controller from shared informers (ingresses, ingressclasses, services,
 * endpointslices, secrets) and writing what it asks into `ingresses/status`, as an ingress
 * controller's status updater does.
 *
 * Contract: handlers are registered at once (cached objects arrive as adds). A status write is a
 * merge patch of `status.loadBalancer.ingress` (null to remove it); its failure goes back to the
 * controller, which retries it.
 *
 * @module
 */
import type { Secret, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { Ingress, IngressClass } from "kubernetes-types/networking/v1.js";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../../api/verbs.ts";
import type { InformerFactory } from "../../client/factory.ts";
import { IngressController, type IngressControllerOptions } from "./controller.ts";

export interface InformerIngress {
  controller: IngressController;
  /** Removes the handlers and closes the listeners. */
  stop(): Promise<void>;
}

export function startInformerIngress(
  client: ApiVerbs,
  informers: InformerFactory,
  options: Omit<IngressControllerOptions, "onStatus">,
): InformerIngress {
  const controller = new IngressController({
    ...options,
    onStatus: (ing, points) =>
      client.patch(
        sub(REFS.ingresses, "status"),
        ing.metadata?.namespace ?? "",
        ing.metadata?.name ?? "",
        "merge",
        { status: { loadBalancer: { ingress: points.length > 0 ? points : null } } },
      ),
  });
  const removers: Array<() => void> = [];
  const feed = <T>(ref: ResourceRef, upsert: (o: T) => void, remove: (o: T) => void): void => {
    removers.push(
      informers.get<KubeObject>(ref).addHandlers({
        onAdd: (o) => upsert(o as unknown as T),
        onUpdate: (_old, o) => upsert(o as unknown as T),
        onDelete: (o) => remove(o as unknown as T),
      }),
    );
  };
  // Classes, backends and Secrets first, so that the first Ingresses already route and serve TLS.
  feed<IngressClass>(
    REFS.ingressclasses,
    (o) => controller.upsertIngressClass(o),
    (o) => controller.deleteIngressClass(o),
  );
  feed<Service>(
    REFS.services,
    (o) => controller.upsertService(o),
    (o) => controller.deleteService(o),
  );
  feed<EndpointSlice>(
    REFS.endpointslices,
    (o) => controller.upsertEndpointSlice(o),
    (o) => controller.deleteEndpointSlice(o),
  );
  feed<Secret>(
    REFS.secrets,
    (o) => controller.upsertSecret(o),
    (o) => controller.deleteSecret(o),
  );
  feed<Ingress>(
    REFS.ingresses,
    (o) => controller.upsertIngress(o),
    (o) => controller.deleteIngress(o),
  );
  return {
    controller,
    async stop() {
      for (const remove of removers) remove();
      await controller.close();
    },
  };
}
