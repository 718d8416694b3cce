import assert from "node:assert/strict";
import { test } from "node:test";
import { isLongRunning, type RequestHead, requestLabels } from "./requestlabels.ts";

const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const APPLY = "application/apply-patch+yaml";

test("requestLabels names verb, group, version, resource, subresource and scope as kube-apiserver does", () => {
  // [method, url, content type, want: verb group version resource subresource scope]
  const cases: Array<[string, string, string | undefined, string]> = [
    ["GET", "/api/v1/namespaces/default/pods", undefined, "LIST  v1 pods  namespace"],
    ["GET", "/api/v1/pods", undefined, "LIST  v1 pods  cluster"],
    ["GET", "/api/v1/pods?limit=500", undefined, "LIST  v1 pods  cluster"],
    ["HEAD", "/api/v1/namespaces/default/pods", undefined, "LIST  v1 pods  namespace"],
    ["GET", "/api/v1/namespaces/default/pods/web-0", undefined, "GET  v1 pods  resource"],
    ["GET", "/api/v1/namespaces", undefined, "LIST  v1 namespaces  cluster"],
    ["GET", "/api/v1/namespaces/default", undefined, "GET  v1 namespaces  resource"],
    ["GET", "/api/v1/nodes/n1", undefined, "GET  v1 nodes  resource"],
    ["GET", "/api/v1/namespaces/ns/pods?watch=true", undefined, "WATCH  v1 pods  namespace"],
    [
      "GET",
      "/api/v1/namespaces/ns/pods?watch=1&resourceVersion=5",
      undefined,
      "WATCH  v1 pods  namespace",
    ],
    ["GET", "/api/v1/namespaces/ns/pods?watch=false", undefined, "LIST  v1 pods  namespace"],
    ["GET", "/api/v1/namespaces/ns/pods?watch=0", undefined, "LIST  v1 pods  namespace"],
    ["GET", "/api/v1/namespaces/ns/pods?watch=FALSE", undefined, "LIST  v1 pods  namespace"],
    ["GET", "/api/v1/pods?watch", undefined, "WATCH  v1 pods  cluster"],
    [
      "GET",
      "/apis/apps/v1/deployments?watch=True",
      undefined,
      "WATCH apps v1 deployments  cluster",
    ],
    [
      "POST",
      "/api/v1/namespaces/ns/configmaps",
      "application/json",
      "POST  v1 configmaps  resource",
    ],
    ["POST", "/api/v1/namespaces", "application/json", "POST  v1 namespaces  resource"],
    [
      "PUT",
      "/apis/apps/v1/namespaces/ns/deployments/web",
      undefined,
      "PUT apps v1 deployments  resource",
    ],
    [
      "PUT",
      "/apis/apps/v1/namespaces/ns/deployments/web/status",
      undefined,
      "PUT apps v1 deployments status resource",
    ],
    [
      "PATCH",
      "/api/v1/namespaces/ns/configmaps/c",
      "application/merge-patch+json",
      "PATCH  v1 configmaps  resource",
    ],
    [
      "PATCH",
      "/api/v1/namespaces/ns/configmaps/c",
      "application/strategic-merge-patch+json",
      "PATCH  v1 configmaps  resource",
    ],
    [
      "PATCH",
      "/api/v1/namespaces/ns/configmaps/c?fieldManager=kubectl",
      APPLY,
      "APPLY  v1 configmaps  resource",
    ],
    [
      "PATCH",
      "/apis/apps/v1/namespaces/ns/deployments/web/scale",
      APPLY,
      "APPLY apps v1 deployments scale resource",
    ],
    ["DELETE", "/api/v1/namespaces/ns/pods/p", undefined, "DELETE  v1 pods  resource"],
    ["DELETE", "/api/v1/namespaces/ns/pods", undefined, "DELETE  v1 pods  namespace"],
    [
      "GET",
      "/api/v1/namespaces/ns/pods/p/log?follow=true",
      undefined,
      "CONNECT  v1 pods log resource",
    ],
    [
      "POST",
      "/api/v1/namespaces/ns/pods/p/exec?command=ls",
      undefined,
      "CONNECT  v1 pods exec resource",
    ],
    [
      "GET",
      "/api/v1/namespaces/ns/pods/p/portforward",
      undefined,
      "CONNECT  v1 pods portforward resource",
    ],
    ["POST", "/api/v1/namespaces/ns/pods/p/binding", undefined, "POST  v1 pods binding resource"],
    ["POST", "/api/v1/namespaces/ns/pods/p/eviction", undefined, "POST  v1 pods eviction resource"],
    ["PUT", "/api/v1/namespaces/ns/finalize", undefined, "PUT  v1 namespaces finalize resource"],
    [
      "GET",
      "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods",
      undefined,
      "LIST metrics.k8s.io v1beta1 pods  namespace",
    ],
    ["OPTIONS", "/api/v1/namespaces/ns/pods", undefined, "other  v1 pods  namespace"],
  ];
  for (const [method, url, contentType, want] of cases) {
    const l = requestLabels({ method, url, contentType });
    assert.ok(l, `${method} ${url} is labelled`);
    const got = [l.verb, l.group, l.version, l.resource, l.subresource, l.scope].join(" ");
    assert.equal(got, want, `${method} ${url}`);
    assert.equal(l.component, "apiserver");
  }
});

test("requestLabels gives dry_run as kube does: empty, All, or invalid", () => {
  const cases: Array<[string, string]> = [
    ["/api/v1/namespaces/ns/configmaps", ""],
    ["/api/v1/namespaces/ns/configmaps?dryRun=All", "All"],
    ["/api/v1/namespaces/ns/configmaps?dryRun=All&dryRun=All", "All"],
    ["/api/v1/namespaces/ns/configmaps?dryRun=Some", "invalid"],
    ["/api/v1/namespaces/ns/configmaps?dryRun=All&dryRun=x", "invalid"],
  ];
  for (const [url, want] of cases) {
    assert.equal(requestLabels({ method: "POST", url })?.dryRun, want, url);
  }
});

test("requestLabels counts health checks and aggregated discovery as kube's non-resource handlers", () => {
  const cases: Array<[RequestHead, string]> = [
    [{ method: "GET", url: "/readyz" }, "GET /readyz "],
    [{ method: "GET", url: "/readyz?verbose" }, "GET /readyz "],
    [{ method: "GET", url: "/livez" }, "GET /livez "],
    [{ method: "GET", url: "/healthz" }, "GET /healthz "],
    [{ method: "HEAD", url: "/healthz" }, "other /healthz "],
    [{ method: "GET", url: "/api", accept: AGGREGATED }, "GET api apiserver"],
    [{ method: "GET", url: "/apis", accept: AGGREGATED }, "GET apis apiserver"],
  ];
  for (const [head, want] of cases) {
    const l = requestLabels(head);
    assert.ok(l, head.url);
    assert.equal([l.verb, l.subresource, l.component].join(" "), want, head.url);
    assert.equal(l.resource + l.group + l.version + l.scope, "", head.url);
  }
});

test("requestLabels leaves out what kube-apiserver does not instrument, so no URL adds a label value", () => {
  const heads: RequestHead[] = [
    { method: "GET", url: "/metrics" },
    { method: "GET", url: "/version" },
    { method: "GET", url: "/openapi/v3" },
    { method: "GET", url: "/readyz/ping" },
    { method: "GET", url: "/api" },
    { method: "GET", url: "/apis", accept: "application/json" },
    { method: "GET", url: "/apis/apps/v1" },
    { method: "GET", url: "/api/v1/namespaces/ns/widgets" },
    { method: "GET", url: "/api/v1/namespaces/ns/pods/p/nonsense" },
    { method: "GET", url: "/apis/apps/v2/deployments" },
    { method: "GET", url: "/api/v1/namespaces/ns/pods/%E0%A4%A" },
    { method: "GET", url: "/no/such/path" },
  ];
  for (const head of heads) assert.equal(requestLabels(head), undefined, head.url);
});

test("isLongRunning holds for watches and streaming subresources only", () => {
  const cases: Array<[string, string, boolean]> = [
    ["GET", "/api/v1/pods?watch=1", true],
    ["GET", "/api/v1/namespaces/ns/pods/p/log", true],
    ["POST", "/api/v1/namespaces/ns/pods/p/exec", true],
    ["GET", "/api/v1/namespaces/ns/pods/p/attach", true],
    ["GET", "/api/v1/namespaces/ns/pods/p/portforward", true],
    ["GET", "/api/v1/pods", false],
    ["PUT", "/api/v1/namespaces/ns/pods/p/status", false],
  ];
  for (const [method, url, want] of cases) {
    const l = requestLabels({ method, url });
    assert.ok(l, url);
    assert.equal(isLongRunning(l), want, `${method} ${url}`);
  }
});
