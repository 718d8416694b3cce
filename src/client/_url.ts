/**
 * URL paths and query strings of the Kubernetes REST API, as the HTTP client sends them:
 * `/api/v1/…` for the core group, `/apis/<group>/<version>/…` otherwise; `namespaces/<ns>/`
 * before the resource when a namespace is given (`""` means cluster-scoped, or all namespaces
 * for a collection); then `/<name>` and `/<subresource>`. Segments are percent-encoded.
 *
 * @module
 */
import type { ResourceRef } from "../api/verbs.ts";

export function groupVersionPath(group: string, version: string): string {
  return group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** The collection path, or the object's path when `name` is given (plus its subresource). */
export function resourcePath(ref: ResourceRef, namespace: string, name?: string): string {
  let p = groupVersionPath(ref.group, ref.version);
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.resource}`;
  if (name !== undefined) {
    p += `/${encodeURIComponent(name)}`;
    if (ref.subresource) p += `/${ref.subresource}`;
  }
  return p;
}

export type QueryValue = string | number | boolean | undefined;

/** `?a=1&b=x` from the defined values, in the given order; `""` when none. */
export function queryString(params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "") continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
