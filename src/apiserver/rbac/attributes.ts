/**
 * A request's authorization attributes, as kube-apiserver's RequestInfoFactory derives them: under
 * `/api/v1` and `/apis/<group>/<version>`, a path naming a resource is a resource request whose
 * verb follows the method (GET/HEAD: `get` with a name, else `list`, or `watch` with `watch=true`;
 * POST `create`, PUT `update`, PATCH `patch`, DELETE `delete` with a name, else
 * `deletecollection`). A list or watch with `fieldSelector=metadata.name=<x>` is about `<x>`, and
 * `/api/v1/namespaces/<x>` is in namespace `<x>`. Everything else (discovery, health, version,
 * OpenAPI, metrics) is a non-resource request, its verb the method in lower case (HEAD is `get`).
 *
 * @module
 */
import { route } from "../http/route.ts";
import type { Attributes } from "./_rules.ts";

function nameFromFieldSelector(selector: string | null): string {
  if (!selector) return "";
  const m = /^metadata\.name(?:==?)(.*)$/.exec(selector.trim());
  return m && !m[1]!.includes(",") ? m[1]! : "";
}

export function requestAttributes(method: string, url: string): Attributes {
  const parsed = new URL(url, "http://localhost");
  const r = route(parsed.pathname);
  const m = method.toUpperCase();
  if (r.type !== "resource") {
    return {
      verb: m === "HEAD" ? "get" : m.toLowerCase(),
      resourceRequest: false,
      path: parsed.pathname,
      apiGroup: "",
      apiVersion: "",
      resource: "",
      subresource: "",
      namespace: "",
      name: "",
    };
  }
  let name = r.name ?? "";
  let verb: string;
  switch (m) {
    case "GET":
    case "HEAD": {
      const watch = parsed.searchParams.get("watch");
      if (name !== "") verb = "get";
      else verb = watch === "true" || watch === "1" ? "watch" : "list";
      if (name === "" && (verb === "list" || verb === "watch")) {
        name = nameFromFieldSelector(parsed.searchParams.get("fieldSelector"));
      }
      break;
    }
    case "POST":
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = name === "" ? "deletecollection" : "delete";
      break;
    default:
      verb = m.toLowerCase();
  }
  const namespace =
    r.group === "" && r.resource === "namespaces" && r.namespace === ""
      ? (r.name ?? "")
      : r.namespace;
  return {
    verb,
    resourceRequest: true,
    path: parsed.pathname,
    apiGroup: r.group,
    apiVersion: r.version,
    resource: r.resource,
    subresource: r.subresource ?? "",
    namespace,
    name,
  };
}
