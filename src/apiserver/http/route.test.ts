import assert from "node:assert/strict";
import { test } from "node:test";
import { route } from "./route.ts";

test("route parses the Kubernetes REST paths", () => {
  const cases: Array<[string, unknown]> = [
    ["/api", { type: "apiVersions" }],
    ["/apis", { type: "apiGroups" }],
    ["/api/v1", { type: "groupVersion", group: "", version: "v1" }],
    ["/apis/apps", { type: "group", group: "apps" }],
    ["/apis/apps/v1", { type: "groupVersion", group: "apps", version: "v1" }],
    [
      "/api/v1/pods",
      { type: "resource", group: "", version: "v1", namespace: "", resource: "pods" },
    ],
    [
      "/api/v1/namespaces",
      { type: "resource", group: "", version: "v1", namespace: "", resource: "namespaces" },
    ],
    [
      "/api/v1/namespaces/default",
      {
        type: "resource",
        group: "",
        version: "v1",
        namespace: "",
        resource: "namespaces",
        name: "default",
      },
    ],
    [
      "/api/v1/namespaces/x/finalize",
      {
        type: "resource",
        group: "",
        version: "v1",
        namespace: "",
        resource: "namespaces",
        name: "x",
        subresource: "finalize",
      },
    ],
    [
      "/api/v1/namespaces/x/status",
      {
        type: "resource",
        group: "",
        version: "v1",
        namespace: "",
        resource: "namespaces",
        name: "x",
        subresource: "status",
      },
    ],
    [
      "/api/v1/namespaces/default/pods",
      { type: "resource", group: "", version: "v1", namespace: "default", resource: "pods" },
    ],
    [
      "/api/v1/namespaces/default/pods/p/log",
      {
        type: "resource",
        group: "",
        version: "v1",
        namespace: "default",
        resource: "pods",
        name: "p",
        subresource: "log",
      },
    ],
    [
      "/apis/apps/v1/namespaces/d/deployments/web/scale",
      {
        type: "resource",
        group: "apps",
        version: "v1",
        namespace: "d",
        resource: "deployments",
        name: "web",
        subresource: "scale",
      },
    ],
    [
      "/apis/storage.k8s.io/v1/storageclasses/standard",
      {
        type: "resource",
        group: "storage.k8s.io",
        version: "v1",
        namespace: "",
        resource: "storageclasses",
        name: "standard",
      },
    ],
    ["/api/v2/pods", { type: "notFound" }],
    ["/api/v1/namespaces/d/pods/p/log/extra", { type: "notFound" }],
    ["/readyz", { type: "health", check: "readyz" }],
    ["/readyz/ping", { type: "health", check: "readyz" }],
    ["/version", { type: "version" }],
    ["/openapi/v3", { type: "openapiV3Root" }],
    ["/openapi/v3/apis/apps/v1", { type: "openapiV3", path: "apis/apps/v1" }],
    ["/nope", { type: "notFound" }],
  ];
  for (const [path, want] of cases) assert.deepEqual(route(path), want, path);
});
