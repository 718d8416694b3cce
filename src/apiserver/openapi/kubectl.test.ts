// The real kubectl against a stub API server that serves only /version, aggregated discovery and
// our OpenAPI v3 documents: explain must print our schemas, and create/apply must trust server-side
// field validation (fieldValidation=Strict) instead of failing to download OpenAPI.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createOpenApi, type OpenApiResource, strictDecodingMessage } from "./index.ts";

const kubectlAvailable =
  spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).error === undefined;

interface Served extends OpenApiResource {
  singular: string;
  shortNames: string[];
}

const r = (
  group: string,
  kind: string,
  resource: string,
  namespaced: boolean,
  shortNames: string[] = [],
  subresources: string[] = [],
): Served => ({
  group,
  version: "v1",
  kind,
  resource,
  namespaced,
  subresources,
  singular: kind.toLowerCase(),
  shortNames,
});

const RESOURCES: Served[] = [
  r("", "Namespace", "namespaces", false, ["ns"], ["status"]),
  r("", "Pod", "pods", true, ["po"], ["status", "log", "exec"]),
  r("", "Service", "services", true, ["svc"], ["status"]),
  r("", "Endpoints", "endpoints", true, ["ep"]),
  r("", "ConfigMap", "configmaps", true, ["cm"]),
  r("", "Secret", "secrets", true),
  r("", "ServiceAccount", "serviceaccounts", true, ["sa"]),
  r("", "Event", "events", true, ["ev"]),
  r("", "Node", "nodes", false, ["no"], ["status"]),
  r("", "PersistentVolumeClaim", "persistentvolumeclaims", true, ["pvc"], ["status"]),
  r("", "PersistentVolume", "persistentvolumes", false, ["pv"], ["status"]),
  r("apps", "Deployment", "deployments", true, ["deploy"], ["status", "scale"]),
  r("apps", "ReplicaSet", "replicasets", true, ["rs"], ["status", "scale"]),
  r("apps", "StatefulSet", "statefulsets", true, ["sts"], ["status", "scale"]),
  r("apps", "ControllerRevision", "controllerrevisions", true),
  r("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
  r("coordination.k8s.io", "Lease", "leases", true),
  r("storage.k8s.io", "StorageClass", "storageclasses", false, ["sc"]),
];

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

function discovery(core: boolean) {
  const groups = new Map<string, Served[]>();
  for (const res of RESOURCES) {
    if ((res.group === "") !== core) continue;
    groups.set(res.group, [...(groups.get(res.group) ?? []), res]);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: [...groups].map(([group, list]) => ({
      metadata: { name: group },
      versions: [
        {
          version: "v1",
          freshness: "Current",
          resources: list.map((res) => ({
            resource: res.resource,
            responseKind: { group, version: "v1", kind: res.kind },
            scope: res.namespaced ? "Namespaced" : "Cluster",
            singularResource: res.singular,
            verbs: VERBS,
            shortNames: res.shortNames,
            subresources: res.subresources.map((sub) => ({
              subresource: sub,
              responseKind:
                sub === "scale"
                  ? { group: "autoscaling", version: "v1", kind: "Scale" }
                  : { group, version: "v1", kind: res.kind },
              verbs: ["get", "patch", "update"],
            })),
          })),
        },
      ],
    })),
  };
}

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

describe("kubectl with our OpenAPI v3", {
  skip: !kubectlAvailable && "kubectl not installed",
}, () => {
  const openapi = createOpenApi(RESOURCES);
  const seen: Seen[] = [];
  /** Live deployment the stub returns for GET; undefined → 404. */
  let live: Record<string, unknown> | undefined;
  let server: http.Server;
  let dir: string;
  let baseUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "loopkube-openapi-kubectl-"));
    server = http.createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        body += c;
      });
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://stub");
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          contentType: req.headers["content-type"],
          body,
        });
        const send = (status: number, obj: unknown, type = "application/json") => {
          res.writeHead(status, { "content-type": type });
          res.end(typeof obj === "string" ? obj : JSON.stringify(obj));
        };
        const answer = openapi.respond(url.pathname, url.searchParams, req.headers.accept);
        if (answer !== undefined) {
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
          return;
        }
        if (url.pathname === "/version") {
          send(200, {
            major: "1",
            minor: "32",
            gitVersion: "v1.32.0",
            gitCommit: "0000000000000000000000000000000000000000",
            gitTreeState: "clean",
            buildDate: "2026-01-01T00:00:00Z",
            goVersion: "go1.23.0",
            compiler: "gc",
            platform: "linux/amd64",
          });
        } else if (url.pathname === "/api" || url.pathname === "/apis") {
          send(200, discovery(url.pathname === "/api"), DISCOVERY_TYPE);
        } else if (url.pathname === "/apis/apps/v1/namespaces/default/deployments/web") {
          if (req.method === "GET" && live !== undefined) send(200, live);
          else if (req.method === "PATCH" && live !== undefined) send(200, live);
          else
            send(404, {
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message: 'deployments.apps "web" not found',
              reason: "NotFound",
              details: { name: "web", group: "apps", kind: "deployments" },
              code: 404,
            });
        } else if (
          url.pathname === "/apis/apps/v1/namespaces/default/deployments" &&
          req.method === "POST"
        ) {
          const obj = JSON.parse(body);
          const gvk = { group: "apps", version: "v1", kind: "Deployment" };
          const unknown = openapi.unknownFields(obj, gvk);
          if (url.searchParams.get("fieldValidation") === "Strict" && unknown.length > 0) {
            send(400, {
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message: strictDecodingMessage(gvk, unknown),
              reason: "BadRequest",
              code: 400,
            });
            return;
          }
          obj.metadata = {
            ...obj.metadata,
            namespace: "default",
            uid: "u-1",
            resourceVersion: "1",
          };
          send(201, obj);
        } else {
          send(404, {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            reason: "NotFound",
            code: 404,
          });
        }
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\n");
    await writeFile(join(dir, "web.yaml"), DEPLOYMENT);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await rm(dir, { recursive: true, force: true });
  });

  function kubectl(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
      execFile(
        "kubectl",
        [
          "--kubeconfig",
          join(dir, "kubeconfig"),
          "--server",
          baseUrl,
          "--cache-dir",
          join(dir, "cache"),
          ...args,
        ],
        { timeout: 30_000, env: { ...process.env, HOME: dir, KUBECONFIG: "", ...env } },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
          done({ code, stdout, stderr });
        },
      );
    });
  }

  test("explain pod.spec.containers prints fields with types and descriptions", async () => {
    const out = await kubectl(["explain", "pod.spec.containers"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /KIND:\s+Pod/);
    assert.match(out.stdout, /VERSION:\s+v1/);
    assert.match(out.stdout, /FIELD: containers <\[\]Container>/);
    assert.match(out.stdout, /List of containers belonging to the pod/);
    assert.match(out.stdout, /image\s+<string>/);
    assert.match(out.stdout, /name\s+<string> -required-/);
    assert.match(out.stdout, /ports\s+<\[\]ContainerPort>/);
    assert.match(out.stdout, /resources\s+<ResourceRequirements>/);
  });

  test("explain knows every served kind", async () => {
    const results = await Promise.all(RESOURCES.map((res) => kubectl(["explain", res.resource])));
    RESOURCES.forEach((res, i) => {
      const out = results[i]!;
      assert.equal(out.code, 0, `${res.resource}: ${out.stderr}`);
      assert.match(out.stdout, new RegExp(`KIND:\\s+${res.kind}\\n`), res.resource);
      assert.match(out.stdout, /metadata\s+<ObjectMeta>/, res.resource);
    });
  });

  test("explain deployment.spec.strategy shows the nested type and its fields", async () => {
    const out = await kubectl(["explain", "deployment.spec.strategy"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /GROUP:\s+apps/);
    assert.match(out.stdout, /FIELD: strategy <DeploymentStrategy>/);
    assert.match(out.stdout, /rollingUpdate\s+<RollingUpdateDeployment>/);
    assert.match(out.stdout, /type\s+<string>/);
    assert.match(out.stdout, /Type of deployment/);
  });

  test("explain shows integer formats and IntOrString", async () => {
    const out = await kubectl(["explain", "deployment.spec.strategy.rollingUpdate"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /maxSurge\s+<IntOrString>/);
    const replicas = await kubectl(["explain", "deployment.spec.replicas"]);
    assert.match(replicas.stdout, /FIELD: replicas <integer>/);
  });

  test("create -f sends fieldValidation=Strict and downloads OpenAPI without complaint", async () => {
    live = undefined;
    const from = seen.length;
    const out = await kubectl(["create", "-f", join(dir, "web.yaml")]);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /openapi/i);
    assert.match(out.stdout, /deployment.apps\/web created/);
    const post = seen.slice(from).find((s) => s.method === "POST");
    assert.ok(post, "kubectl sent no POST");
    const q = new URL(post.url, "http://stub").searchParams;
    assert.equal(q.get("fieldValidation"), "Strict");
    assert.equal(q.get("fieldManager"), "kubectl-create");
    assert.ok(seen.slice(from).some((s) => s.url.startsWith("/openapi/v3/apis/apps/v1?hash=")));
  });

  test("create -f of a manifest with a typo fails with kube's strict decoding error", async () => {
    live = undefined;
    const file = join(dir, "typo.yaml");
    await writeFile(file, DEPLOYMENT.replace("  replicas: 2", "  replicas: 2\n  replica: 3"));
    const out = await kubectl(["create", "-f", file]);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /Error from server \(BadRequest\): error when creating ".*typo.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"/,
    );
  });

  test("apply -f of a kind the server does not serve says no matches for kind, as kube does", async () => {
    const file = join(dir, "job.yaml");
    await writeFile(file, JOB);
    const out = await kubectl(["apply", "-f", file]);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /resource mapping not found for name: "pi" namespace: "" from ".*job.yaml": no matches for kind "Job" in version "batch\/v1"/,
    );
    assert.doesNotMatch(out.stderr, /failed to download|error validating/);
  });

  test("apply -f of a List validates its items client-side against /openapi/v2", async () => {
    const file = join(dir, "list.yaml");
    const items = DEPLOYMENT.replace("  replicas: 2", "  replicass: 2").replace(/^/gm, "  ");
    await writeFile(file, `apiVersion: v1\nkind: List\nitems:\n-${items.slice(1)}`);
    const out = await kubectl(["apply", "-f", file]);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /ValidationError\(Deployment.spec\): unknown field "replicass" in io.k8s.api.apps.v1.DeploymentSpec/,
    );
  });

  test("edit sends its patch with fieldValidation=Strict", async () => {
    live = structuredClone(LIVE_DEPLOYMENT);
    const from = seen.length;
    const out = await kubectl(["edit", "deployment/web"], {
      KUBE_EDITOR: "sed -i s/nginx:1.26/nginx:1.28/",
    });
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /openapi/i);
    const patch = seen.slice(from).find((s) => s.method === "PATCH");
    assert.ok(patch, "kubectl sent no PATCH");
    assert.equal(new URL(patch.url, "http://stub").searchParams.get("fieldValidation"), "Strict");
    assert.match(patch.body, /nginx:1.28/);
  });

  test("apply -f of an existing object sends a strategic merge patch with fieldValidation=Strict", async () => {
    live = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: "web",
        namespace: "default",
        uid: "u-1",
        resourceVersion: "7",
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "web", namespace: "default" },
            spec: {
              replicas: 1,
              selector: { matchLabels: { app: "web" } },
              template: {
                metadata: { labels: { app: "web" } },
                spec: { containers: [{ name: "web", image: "nginx:1.26" }] },
              },
            },
          }),
        },
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "nginx:1.26" }] },
        },
      },
    };
    const from = seen.length;
    const out = await kubectl(["apply", "-f", join(dir, "web.yaml")]);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /openapi|warning/i);
    const patch = seen.slice(from).find((s) => s.method === "PATCH");
    assert.ok(patch, "kubectl sent no PATCH");
    assert.equal(patch.contentType, "application/strategic-merge-patch+json");
    assert.equal(new URL(patch.url, "http://stub").searchParams.get("fieldValidation"), "Strict");
    const body = JSON.parse(patch.body);
    // Computed from kubectl's compiled-in types: containers merge by name, so the patch names it.
    assert.deepEqual(body.spec.template.spec.containers, [{ image: "nginx:1.27", name: "web" }]);
    assert.equal(body.spec.replicas, 2);
  });
});

const LIVE_DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default", uid: "u-1", resourceVersion: "7" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx:1.26" }] },
    },
  },
};

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
      restartPolicy: Never
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
`;
