/**
 * The labels kube-apiserver puts on a request in `apiserver_request_total` and its siblings
 * (k8s.io/apiserver `pkg/endpoints/metrics`, `installer.go`), computed from the method, the URL
 * and two headers:
 *
 * - `verb`: GET on a named object is `GET`, on a collection `LIST`; any GET with a true `watch`
 *   parameter is `WATCH`; PATCH with `application/apply-patch+yaml` is `APPLY`; a streaming
 *   subresource (`log`, `exec`, `attach`, `portforward`, `proxy`) is `CONNECT`; POST, PUT, PATCH
 *   and DELETE keep their names (a DELETE of a collection stays `DELETE`); other methods `other`.
 * - `scope`: `resource` for a named object or a POST, `namespace` for a collection in one
 *   namespace, `cluster` for a cluster-scoped or all-namespaces collection; empty for non-resource
 *   paths.
 * - `dry_run`: empty, the sorted distinct `dryRun` values when all are `All`, else `invalid`.
 * - `component`: `apiserver`; the health checks carry an empty component, as kube's do.
 *
 * Only what kube-apiserver instruments is labelled: requests for served resources and their
 * subresources, the root health checks (`/healthz`, `/livez`, `/readyz`, with the path as the
 * subresource) and aggregated discovery (`/api`, `/apis`, subresource `api`/`apis`). Anything else
 * (unknown resources, `/version`, `/openapi`, `/metrics` itself) answers `undefined` and is not
 * counted, so a mistyped URL never adds a label value.
 *
 * @module
 */
import { queryFlag } from "../../api/query.ts";
import { METRICS_GROUP, METRICS_RESOURCES } from "../metrics.ts";
import { findResource, type ResourceInfo } from "../resources.ts";
import { wantsAggregated } from "./discovery.ts";
import { route } from "./route.ts";

export interface RequestLabels {
  verb: string;
  dryRun: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  component: string;
}

export interface RequestHead {
  method: string;
  url: string;
  contentType?: string | undefined;
  accept?: string | undefined;
}

const CONNECT_SUBRESOURCES = new Set(["log", "exec", "attach", "portforward", "proxy"]);
/** kube's `validRequestMethods`: anything else is reported as `other`. */
const KNOWN_VERBS = new Set([
  "APPLY",
  "CONNECT",
  "CREATE",
  "DELETE",
  "DELETECOLLECTION",
  "GET",
  "LIST",
  "PATCH",
  "POST",
  "PROXY",
  "PUT",
  "UPDATE",
  "WATCH",
  "WATCHLIST",
]);
const APPLY_PATCH = "application/apply-patch+yaml";
const HEALTH_PATHS = new Set(["/healthz", "/livez", "/readyz"]);

function served(group: string, version: string, resource: string): ResourceInfo | undefined {
  const info =
    group === METRICS_GROUP
      ? METRICS_RESOURCES.find((r) => r.resource === resource)
      : findResource(group, resource);
  return info && info.version === version ? info : undefined;
}

function dryRunLabel(query: URLSearchParams | undefined): string {
  const values = query?.getAll("dryRun") ?? [];
  if (values.length === 0) return "";
  if (values.some((v) => v !== "All")) return "invalid";
  return "All";
}

function nonResource(verb: string, subresource: string, component: string): RequestLabels {
  return {
    verb,
    dryRun: "",
    group: "",
    version: "",
    resource: "",
    subresource,
    scope: "",
    component,
  };
}

/** kube's verb for a non-resource GET handler: HEAD is not among its reported verbs. */
function nonResourceVerb(method: string): string {
  return method === "GET" ? "GET" : "other";
}

/** The labels of a request, or undefined when kube-apiserver would not count it. */
export function requestLabels(head: RequestHead): RequestLabels | undefined {
  const q = head.url.indexOf("?");
  const path = q < 0 ? head.url : head.url.slice(0, q);
  const method = head.method.toUpperCase();
  if (HEALTH_PATHS.has(path)) return nonResource(nonResourceVerb(method), path, "");
  let r: ReturnType<typeof route>;
  try {
    r = route(path);
  } catch {
    return undefined; // a malformed percent-encoding: the handler answers 404
  }
  if (r.type === "apiVersions" || r.type === "apiGroups") {
    if (!wantsAggregated(head.accept)) return undefined;
    return nonResource(
      nonResourceVerb(method),
      r.type === "apiVersions" ? "api" : "apis",
      "apiserver",
    );
  }
  if (r.type !== "resource") return undefined;
  const info = served(r.group, r.version, r.resource);
  if (!info) return undefined;
  const subresource = r.subresource ?? "";
  if (subresource && !info.subresources.some((s) => s.name === subresource)) return undefined;
  // Only `watch` and `dryRun` matter here: most queries (`?limit=500`) are not parsed at all.
  const raw = q < 0 ? "" : head.url.slice(q + 1);
  const query =
    raw.includes("watch") || raw.includes("dryRun") ? new URLSearchParams(raw) : undefined;

  const scope =
    r.name !== undefined || method === "POST"
      ? "resource"
      : info.namespaced && r.namespace !== ""
        ? "namespace"
        : "cluster";
  let verb = method;
  if (method === "GET" || method === "HEAD") verb = scope === "resource" ? "GET" : "LIST";
  if ((method === "GET" || method === "HEAD") && query && queryFlag(query, "watch")) {
    verb = "WATCH";
  }
  if (method === "PATCH" && head.contentType?.split(";")[0]?.trim() === APPLY_PATCH) {
    verb = "APPLY";
  }
  if (CONNECT_SUBRESOURCES.has(subresource)) verb = "CONNECT";
  if (!KNOWN_VERBS.has(verb)) verb = "other";
  return {
    verb,
    dryRun: dryRunLabel(query),
    group: r.group,
    version: r.version,
    resource: r.resource,
    subresource,
    scope,
    component: "apiserver",
  };
}

/**
 * kube's long-running check (`BasicLongRunningRequestCheck`): watches and the streaming
 * subresources. They are left out of the in-flight figures and tracked by
 * `apiserver_longrunning_requests` instead.
 */
export function isLongRunning(labels: RequestLabels): boolean {
  return labels.verb === "WATCH" || CONNECT_SUBRESOURCES.has(labels.subresource);
}
