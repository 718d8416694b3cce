/**
 * A plain HTTP stand-in for kube-apiserver, just enough for kubectl's generator commands
 * (`create namespace|deployment|…`, `run`, `expose`) to reach their POST: `/version`, legacy
 * discovery (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`, `/apis/batch/v1`), a GET of one fixed
 * Deployment (for `expose`), and POSTs answered 201 with a minimal JSON object of the right kind.
 * Every POST is recorded as it arrived on the wire, so the bodies the real kubectl sends can be
 * kept as fixtures. Test-only; listens on 127.0.0.1 and an ephemeral port.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface CapturedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string;
  accept: string;
  body: Buffer;
}

export interface StubServer {
  url: string;
  /** Every POST, in arrival order. */
  posts: CapturedRequest[];
  /** Every request line, for diagnosis: `GET /api/v1`. */
  log: string[];
  close(): Promise<void>;
}

interface ResourceEntry {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  shortNames?: string[];
  /** For a subresource served in another group, such as `deployments/scale`. */
  group?: string;
  version?: string;
}

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

const GROUPS: Record<string, { apiVersion: string; resources: ResourceEntry[] }> = {
  "/api/v1": {
    apiVersion: "v1",
    resources: [
      { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace" },
      { name: "configmaps", singularName: "configmap", namespaced: true, kind: "ConfigMap" },
      { name: "secrets", singularName: "secret", namespaced: true, kind: "Secret" },
      { name: "services", singularName: "service", namespaced: true, kind: "Service" },
      {
        name: "serviceaccounts",
        singularName: "serviceaccount",
        namespaced: true,
        kind: "ServiceAccount",
      },
      { name: "pods", singularName: "pod", namespaced: true, kind: "Pod" },
      {
        name: "replicationcontrollers",
        singularName: "replicationcontroller",
        namespaced: true,
        kind: "ReplicationController",
      },
      {
        name: "resourcequotas",
        singularName: "resourcequota",
        namespaced: true,
        kind: "ResourceQuota",
      },
    ],
  },
  "/apis/apps/v1": {
    apiVersion: "apps/v1",
    resources: [
      { name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment" },
      {
        name: "deployments/scale",
        singularName: "",
        namespaced: true,
        kind: "Scale",
        group: "autoscaling",
        version: "v1",
      },
      { name: "replicasets", singularName: "replicaset", namespaced: true, kind: "ReplicaSet" },
      { name: "statefulsets", singularName: "statefulset", namespaced: true, kind: "StatefulSet" },
      { name: "daemonsets", singularName: "daemonset", namespaced: true, kind: "DaemonSet" },
    ],
  },
  "/apis/batch/v1": {
    apiVersion: "batch/v1",
    resources: [
      { name: "jobs", singularName: "job", namespaced: true, kind: "Job" },
      { name: "cronjobs", singularName: "cronjob", namespaced: true, kind: "CronJob" },
    ],
  },
  "/apis/autoscaling/v2": {
    apiVersion: "autoscaling/v2",
    resources: [
      {
        name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler",
        namespaced: true,
        kind: "HorizontalPodAutoscaler",
      },
    ],
  },
  "/apis/autoscaling/v1": {
    apiVersion: "autoscaling/v1",
    resources: [
      {
        name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler",
        namespaced: true,
        kind: "HorizontalPodAutoscaler",
      },
    ],
  },
  "/apis/policy/v1": {
    apiVersion: "policy/v1",
    resources: [
      {
        name: "poddisruptionbudgets",
        singularName: "poddisruptionbudget",
        namespaced: true,
        kind: "PodDisruptionBudget",
      },
    ],
  },
  "/apis/networking.k8s.io/v1": {
    apiVersion: "networking.k8s.io/v1",
    resources: [
      { name: "ingresses", singularName: "ingress", namespaced: true, kind: "Ingress" },
      {
        name: "networkpolicies",
        singularName: "networkpolicy",
        namespaced: true,
        kind: "NetworkPolicy",
      },
    ],
  },
  "/apis/scheduling.k8s.io/v1": {
    apiVersion: "scheduling.k8s.io/v1",
    resources: [
      {
        name: "priorityclasses",
        singularName: "priorityclass",
        namespaced: false,
        kind: "PriorityClass",
      },
    ],
  },
  "/apis/rbac.authorization.k8s.io/v1": {
    apiVersion: "rbac.authorization.k8s.io/v1",
    resources: [
      { name: "roles", singularName: "role", namespaced: true, kind: "Role" },
      { name: "rolebindings", singularName: "rolebinding", namespaced: true, kind: "RoleBinding" },
      { name: "clusterroles", singularName: "clusterrole", namespaced: false, kind: "ClusterRole" },
      {
        name: "clusterrolebindings",
        singularName: "clusterrolebinding",
        namespaced: false,
        kind: "ClusterRoleBinding",
      },
    ],
  },
  "/apis/authorization.k8s.io/v1": {
    apiVersion: "authorization.k8s.io/v1",
    resources: [
      {
        name: "selfsubjectaccessreviews",
        singularName: "selfsubjectaccessreview",
        namespaced: false,
        kind: "SelfSubjectAccessReview",
      },
    ],
  },
  "/apis/authentication.k8s.io/v1": {
    apiVersion: "authentication.k8s.io/v1",
    resources: [
      {
        name: "selfsubjectreviews",
        singularName: "selfsubjectreview",
        namespaced: false,
        kind: "SelfSubjectReview",
      },
    ],
  },
};

/** Preferred version first, as kube-apiserver lists them. */
const GROUP_VERSIONS: [string, string[]][] = [
  ["apps", ["v1"]],
  ["batch", ["v1"]],
  ["autoscaling", ["v2", "v1"]],
  ["policy", ["v1"]],
  ["networking.k8s.io", ["v1"]],
  ["scheduling.k8s.io", ["v1"]],
  ["rbac.authorization.k8s.io", ["v1"]],
  ["authorization.k8s.io", ["v1"]],
  ["authentication.k8s.io", ["v1"]],
];

/** The Deployment `web` that `kubectl expose deployment web` reads before it builds a Service. */
export const EXPOSED_DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "default",
    uid: "0b7e1f59-2f5e-4a8c-9d51-6c2c9f1b0a11",
    resourceVersion: "1",
    labels: { app: "web" },
  },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "nginx", image: "nginx", ports: [{ containerPort: 8080 }] }] },
    },
  },
};

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function discovery(path: string, host: string): unknown {
  if (path === "/version") {
    return {
      major: "1",
      minor: "32",
      gitVersion: "v1.32.0",
      gitCommit: "0000000000000000000000000000000000000000",
      gitTreeState: "clean",
      buildDate: "2024-12-11T00:00:00Z",
      goVersion: "go1.23.0",
      compiler: "gc",
      platform: "linux/amd64",
    };
  }
  if (path === "/api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
    };
  }
  if (path === "/apis") {
    const groups = GROUP_VERSIONS.map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }
  const group = GROUPS[path];
  if (!group) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group.apiVersion,
    resources: group.resources.map((r) => ({ ...r, verbs: VERBS })),
  };
}

/** Kind and apiVersion for a collection path such as `/apis/apps/v1/namespaces/default/deployments`. */
function kindOfPath(path: string): { apiVersion: string; kind: string } | undefined {
  for (const [prefix, group] of Object.entries(GROUPS)) {
    if (!path.startsWith(`${prefix}/`)) continue;
    const plural = path.split("/").at(-1);
    const entry = group.resources.find((r) => r.name === plural);
    if (entry) return { apiVersion: group.apiVersion, kind: entry.kind };
  }
  return undefined;
}

const NOT_FOUND = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: "the server could not find the requested resource",
  reason: "NotFound",
  code: 404,
};

/** The status code and JSON body for one request; POSTs are recorded. */
function respond(req: IncomingMessage, server: StubServer, body: Buffer): [number, unknown] {
  const url = new URL(req.url ?? "/", "http://stub");
  const method = req.method ?? "GET";
  server.log.push(`${method} ${url.pathname}${url.search}`);
  if (method === "POST") {
    server.posts.push({
      method,
      path: url.pathname,
      query: url.search,
      contentType: req.headers["content-type"] ?? "",
      accept: req.headers.accept ?? "",
      body,
    });
    if (url.pathname.endsWith("/token")) {
      const token = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest" };
      return [201, { ...token, metadata: {}, spec: { audiences: [] }, status: { token: "x" } }];
    }
    const kind = kindOfPath(url.pathname);
    if (!kind) return [404, NOT_FOUND];
    // What `auth can-i` and `auth whoami` read from the answer.
    const status = {
      SelfSubjectAccessReview: { allowed: true },
      SelfSubjectReview: { userInfo: { username: "admin", groups: ["system:masters"] } },
    }[kind.kind];
    return [201, { ...kind, metadata: { name: "captured", uid: "1" }, ...(status && { status }) }];
  }
  if (method === "GET" && url.pathname === "/apis/apps/v1/namespaces/default/deployments/web") {
    return [200, EXPOSED_DEPLOYMENT];
  }
  const doc = method === "GET" ? discovery(url.pathname, req.headers.host ?? "") : undefined;
  return doc === undefined ? [404, NOT_FOUND] : [200, doc];
}

export async function startStubServer(): Promise<StubServer> {
  const http = createServer();
  const server: StubServer = {
    url: "",
    posts: [],
    log: [],
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  http.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [code, doc] = respond(req, server, Buffer.concat(chunks));
      sendJson(res, code, doc);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return server;
}
