/**
 * The API server's `/metrics` page: the request families (`http/instrument.ts`), the number of
 * stored objects per resource as `apiserver_storage_objects{resource}` (the resource as kube
 * names it, `pods` or `deployments.apps`, counted at scrape time where kube polls every minute),
 * and the `process_*` families.
 *
 * @module
 */
import { writeProcessMetrics } from "../api/processmetrics.ts";
import { PROMETHEUS_CONTENT_TYPE, PrometheusWriter } from "../api/prometheus.ts";
import type { Store } from "../store/types.ts";
import type { RequestMetrics } from "./http/instrument.ts";
import { RESOURCES, storePrefix } from "./resources.ts";

export function writeStorageObjects(w: PrometheusWriter, store: Store): void {
  w.family(
    "apiserver_storage_objects",
    "gauge",
    "[STABLE] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
  );
  // One row per stored resource: a version served as a view of another stores nothing itself.
  const rows = RESOURCES.filter((info) => !info.storageVersion)
    .map((info) => {
      const resource = info.group ? `${info.resource}.${info.group}` : info.resource;
      let count: number;
      try {
        count = store.count(storePrefix(info, ""));
      } catch {
        count = -1;
      }
      return { resource, count };
    })
    .sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  for (const { resource, count } of rows) {
    w.sample("apiserver_storage_objects", [["resource", resource]], count);
  }
}

export function renderApiMetrics(
  requests: RequestMetrics,
  store: Store,
): { contentType: string; body: string } {
  const w = new PrometheusWriter();
  requests.write(w);
  writeStorageObjects(w, store);
  writeProcessMetrics(w);
  return { contentType: PROMETHEUS_CONTENT_TYPE, body: w.text() };
}
