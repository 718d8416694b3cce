/**
 * kube-apiserver's 403 for a request its authorizers refused, worded as `responsewriters`
 * words it: `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the
 * namespace "default"`, with the object's name (`pods "web" is forbidden: …`), `resource/sub` for
 * subresources, `at the cluster scope` without a namespace, `forbidden: User "x" cannot get path
 * "/metrics"` for non-resource URLs, and the authorizer's reason after a colon. `details` carry
 * group, kind (the plural resource) and name.
 *
 * @module
 */
import { StatusError } from "../../api/errors.ts";
import type { Attributes } from "./_rules.ts";

export function forbiddenMessage(user: string, a: Attributes): string {
  if (!a.resourceRequest)
    return `User ${JSON.stringify(user)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace
    ? `in the namespace ${JSON.stringify(a.namespace)}`
    : "at the cluster scope";
  return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${scope}`;
}

/** apimachinery's NewForbidden over a group, resource and name. */
export function forbiddenError(
  group: string,
  resource: string,
  name: string,
  why: string,
): StatusError {
  const qualified = resource === "" ? "" : group ? `${resource}.${group}` : resource;
  const message =
    qualified === ""
      ? `forbidden: ${why}`
      : name === ""
        ? `${qualified} is forbidden: ${why}`
        : `${qualified} ${JSON.stringify(name)} is forbidden: ${why}`;
  const details: { group?: string; kind?: string; name?: string } = {};
  if (name) details.name = name;
  if (group) details.group = group;
  if (resource) details.kind = resource;
  return new StatusError(403, "Forbidden", message, details);
}

/** The 403 of a refused request. */
export function forbidden(user: string, a: Attributes, reason: string): StatusError {
  const why = forbiddenMessage(user, a) + (reason ? `: ${reason}` : "");
  return a.resourceRequest
    ? forbiddenError(a.apiGroup, a.resource, a.name, why)
    : forbiddenError("", "", "", why);
}
