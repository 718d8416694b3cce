/**
 * Feeding a {@link DnsView} from watch events, so wiring an informer is one line per kind:
 * `informer.onEvent((e) => applyWatchEvent(view, "services", e))`. ADDED/MODIFIED upsert,
 * DELETED deletes, BOOKMARK and ERROR are ignored (the informer relists on errors).
 *
 * @module
 */
import type { Namespace, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { WatchEvent } from "../api/types.ts";
import type { DnsView } from "./view.ts";

export type DnsResource = "services" | "endpointslices" | "pods" | "namespaces";

export function applyWatchEvent(
  view: DnsView,
  resource: DnsResource,
  event: WatchEvent<unknown>,
): void {
  if (event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED") return;
  const del = event.type === "DELETED";
  switch (resource) {
    case "services": {
      const o = event.object as Service;
      if (del) view.deleteService(o);
      else view.upsertService(o);
      return;
    }
    case "endpointslices": {
      const o = event.object as EndpointSlice;
      if (del) view.deleteEndpointSlice(o);
      else view.upsertEndpointSlice(o);
      return;
    }
    case "pods": {
      const o = event.object as Pod;
      if (del) view.deletePod(o);
      else view.upsertPod(o);
      return;
    }
    case "namespaces": {
      const o = event.object as Namespace;
      if (del) view.deleteNamespace(o);
      else view.upsertNamespace(o);
      return;
    }
  }
}
