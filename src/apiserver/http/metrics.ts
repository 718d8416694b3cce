/**
 * Serving `/apis/metrics.k8s.io/v1beta1/...` as metrics-server does: list the Nodes or Pods from
 * the registry (label selector there; field selector on `metadata.name` and, for pods,
 * `metadata.namespace`, the only fields metrics-server matches), join them with the provider's
 * snapshot, and leave out those without figures. A list is sorted by namespace and name. A get of
 * an object without figures answers 404 `podmetrics.metrics.k8s.io "<ns>/<name>" not found`
 * (`nodemetrics…` for nodes), which is what kubectl top prints while metrics are not ready yet.
 * Only GET; `watch` answers 405 as for any storage without a watcher.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { methodNotAllowed, notFound, StatusError } from "../../api/errors.ts";
import { fieldsMatch, parseFieldSelector } from "../../api/fields.ts";
import { queryFlag } from "../../api/query.ts";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import {
  METRICS_GROUP,
  METRICS_VERSION,
  type MetricsObject,
  type MetricsProvider,
  type MetricsSnapshot,
  metricsList,
  metricsTable,
  nodeMetrics,
  podMetrics,
  totalUsage,
  type Usage,
} from "../metrics.ts";
import type { Registry } from "../registry/index.ts";
import { resourceNotServed } from "../registry/index.ts";
import { negotiate, wantsYaml } from "./codec.ts";
import { sendJson } from "./respond.ts";

export interface MetricsTarget {
  version: string;
  namespace: string;
  resource: string;
  name?: string;
  subresource?: string;
}

export interface MetricsDeps {
  registry: Registry;
  provider: MetricsProvider;
  now: () => number;
}

const KIND = { nodes: "NodeMetrics", pods: "PodMetrics" } as const;

function watchNotSupported(resource: string): StatusError {
  return new StatusError(
    405,
    "MethodNotAllowed",
    `watch is not supported on resources of kind "${resource}.${METRICS_GROUP}"`,
    { group: METRICS_GROUP, kind: resource },
  );
}

interface Joined {
  object: MetricsObject;
  total: Usage;
}

function join(
  resource: "nodes" | "pods",
  objs: KubeObject[],
  snap: MetricsSnapshot,
  now: Date,
): Joined[] {
  const out: Joined[] = [];
  for (const o of objs) {
    const meta = o.metadata;
    if (resource === "nodes") {
      const m = snap.nodes.get(meta.name ?? "");
      if (m) out.push({ object: nodeMetrics(meta, m, now), total: m });
    } else {
      const m = snap.pods.get(`${meta.namespace}/${meta.name}`);
      if (m) out.push({ object: podMetrics(meta, m, now), total: totalUsage(m.containers) });
    }
  }
  return out;
}

export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  target: MetricsTarget,
  query: URLSearchParams,
  deps: MetricsDeps,
): Promise<void> {
  const { version, namespace, name } = target;
  const resource = target.resource;
  if (version !== METRICS_VERSION || (resource !== "nodes" && resource !== "pods")) {
    throw resourceNotServed();
  }
  if (target.subresource !== undefined) throw resourceNotServed();
  if (resource === "nodes" && namespace !== "") throw resourceNotServed();
  if (resource === "pods" && namespace === "" && name !== undefined) throw resourceNotServed();
  const method = req.method ?? "GET";
  if (method !== "GET") throw methodNotAllowed(method, name ? `${resource}/${name}` : resource);
  if (queryFlag(query, "watch")) throw watchNotSupported(resource);

  const accept = req.headers.accept;
  const view = negotiate(accept);
  const yaml = wantsYaml(accept);
  const ref = resource === "nodes" ? REFS.nodes : REFS.pods;
  const kind = KIND[resource];
  const metricsResource = kind.toLowerCase();

  let objs: KubeObject[];
  if (name !== undefined) {
    objs = [deps.registry.getSync(ref, namespace, name)];
  } else {
    const labelSelector = query.get("labelSelector");
    const list = deps.registry.listSync(ref, namespace, labelSelector ? { labelSelector } : {});
    const fs = parseFieldSelector(query.get("fieldSelector") ?? "");
    objs = list.items.filter((o) =>
      fieldsMatch(fs, {
        "metadata.name": o.metadata.name ?? "",
        ...(resource === "pods" ? { "metadata.namespace": o.metadata.namespace ?? "" } : {}),
      }),
    );
  }
  const snap = await deps.provider.collect();
  const joined = join(resource, objs, snap, new Date(deps.now())).sort((a, b) => {
    const ka = `${a.object.metadata.namespace ?? ""}/${a.object.metadata.name}`;
    const kb = `${b.object.metadata.namespace ?? ""}/${b.object.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

  if (name !== undefined && joined.length === 0) {
    throw notFound(metricsResource, METRICS_GROUP, namespace ? `${namespace}/${name}` : name);
  }
  if (view === "table") {
    sendJson(res, 200, metricsTable(joined), { yaml });
    return;
  }
  if (view === "partial") {
    const partial = (j: Joined) => ({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: j.object.metadata,
    });
    const body =
      name !== undefined
        ? partial(joined[0] as Joined)
        : {
            kind: "PartialObjectMetadataList",
            apiVersion: "meta.k8s.io/v1",
            metadata: {},
            items: joined.map(partial),
          };
    sendJson(res, 200, body, { yaml });
    return;
  }
  const body =
    name !== undefined
      ? (joined[0] as Joined).object
      : metricsList(
          kind,
          joined.map((j) => j.object),
        );
  sendJson(res, 200, body, { yaml });
}
