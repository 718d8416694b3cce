/**
 * Feeding a {@link DnsView} from shared informers (services, endpointslices, pods, namespaces),
 * the way CoreDNS's `kubernetes` plugin feeds its cache from client-go informers.
 *
 * Contract: handlers are registered on the factory's informers at once (objects already cached
 * are delivered as adds); the view is marked synced only after every informer of the factory has
 * listed once, so until then the server answers SERVFAIL instead of a wrong NXDOMAIN.
 * `stop()` removes the handlers; stopping the informers stays the owner's job.
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import type { ResourceRef } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import { applyWatchEvent, type DnsResource } from "./feed.ts";
import type { DnsView } from "./view.ts";

const RESOURCES: ReadonlyArray<[DnsResource, ResourceRef]> = [
  ["services", { group: "", version: "v1", resource: "services" }],
  ["endpointslices", { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" }],
  ["pods", { group: "", version: "v1", resource: "pods" }],
  ["namespaces", { group: "", version: "v1", resource: "namespaces" }],
];

export interface DnsFeed {
  /** Resolves once the view is synced (every informer listed once). */
  synced: Promise<void>;
  stop(): void;
}

export interface FeedOptions {
  /**
   * Whether to keep pods in the view (default true). Only the `verified` pods mode reads them
   * (`a-b-c-d.<ns>.pod.<zone>` answers only for a pod with that IP); in the other modes they cost
   * memory (~150 B a pod) and cache invalidations for nothing.
   */
  pods?: boolean;
}

export function feedDnsView(
  view: DnsView,
  informers: InformerFactory,
  options: FeedOptions = {},
): DnsFeed {
  const fed = RESOURCES.filter(([kind]) => kind !== "pods" || options.pods !== false);
  const removers = fed.map(([kind, ref]) =>
    informers.get<KubeObject>(ref).addHandlers({
      onAdd: (o) => applyWatchEvent(view, kind, { type: "ADDED", object: o }),
      onUpdate: (_old, o) => applyWatchEvent(view, kind, { type: "MODIFIED", object: o }),
      onDelete: (o) => applyWatchEvent(view, kind, { type: "DELETED", object: o }),
    }),
  );
  let stopped = false;
  const synced = informers.waitForSync().then(() => {
    if (!stopped) view.setSynced(true);
  });
  // A caller that never awaits `synced` must not get an unhandled rejection when the informers
  // stop before syncing; callers that await it still see the rejection.
  synced.catch(() => {});
  return {
    synced,
    stop() {
      stopped = true;
      for (const remove of removers) remove();
    },
  };
}
