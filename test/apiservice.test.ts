/**
 * API aggregation end to end (issue #15): a small aggregated API server written here (HTTPS with
 * its own CA, `wardle.example.com/v1alpha1` with one resource, `flunders`) behind a Service whose
 * Endpoints point at it, registered with an APIService. It trusts the API server's front-proxy
 * client certificate as a real aggregated server does, from the
 * `extension-apiserver-authentication` ConfigMap, and records the X-Remote-* headers. The real
 * kubectl and @kubernetes/client-node then see: the local APIServices kube-apiserver lists, the
 * Available condition with kube's reasons, the aggregated resource in `get`, `api-resources` and a
 * watch, the user passed on (and a client's own X-Remote-User dropped), and the 503 once the
 * backend is gone.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import * as k8s from "@kubernetes/client-node";
import { ensurePki } from "../src/apiserver/pki.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const GV = "wardle.example.com/v1alpha1";

interface Seen {
  path: string;
  user: string | undefined;
  groups: string[];
  extra: Record<string, string>;
  clientCn: string | undefined;
}

const flunder = (name: string) => ({
  apiVersion: GV,
  kind: "Flunder",
  metadata: { name, namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { reference: "wardle" },
});

/** The aggregated API server: discovery and `flunders`, only for the front proxy's requests. */
async function startWardle(
  tls: { cert: string; key: string },
  frontProxyCa: string,
): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const json = (res: ServerResponse, code: number, body: object) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = createServer(
    { ...tls, ca: frontProxyCa, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const clientCn = socket.authorized ? (peer.subject?.CN as string | undefined) : undefined;
      const url = new URL(req.url ?? "/", "https://wardle");
      const extra: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (k.startsWith("x-remote-extra-")) extra[k.slice(15)] = String(v);
      }
      seen.push({
        path: url.pathname,
        user: req.headers["x-remote-user"] as string | undefined,
        groups: String(req.headers["x-remote-group"] ?? "")
          .split(",")
          .map((g) => g.trim())
          .filter(Boolean),
        extra,
        clientCn,
      });
      // As the requestheader authenticator: only the allowed front-proxy client may assert users.
      if (clientCn !== "front-proxy-client" || !req.headers["x-remote-user"]) {
        json(res, 401, { kind: "Status", apiVersion: "v1", status: "Failure", code: 401 });
        return;
      }
      if (url.pathname === "/apis/metrics.k8s.io/v1beta1") {
        json(res, 200, {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: "metrics.k8s.io/v1beta1",
          resources: [
            {
              name: "nodes",
              singularName: "",
              namespaced: false,
              kind: "NodeMetrics",
              verbs: ["get", "list"],
            },
          ],
        });
        return;
      }
      if (url.pathname === "/apis/metrics.k8s.io/v1beta1/nodes") {
        json(res, 200, {
          kind: "NodeMetricsList",
          apiVersion: "metrics.k8s.io/v1beta1",
          metadata: {},
          items: [{ metadata: { name: "from-the-backend" }, usage: { cpu: "1m", memory: "1Ki" } }],
        });
        return;
      }
      const base = `/apis/${GV}`;
      if (url.pathname === base) {
        json(res, 200, {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: GV,
          resources: [
            {
              name: "flunders",
              singularName: "flunder",
              namespaced: true,
              kind: "Flunder",
              verbs: ["get", "list", "watch"],
              shortNames: ["fl"],
            },
          ],
        });
        return;
      }
      if (url.pathname === `${base}/namespaces/default/flunders`) {
        if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") {
          res.writeHead(200, { "content-type": "application/json" });
          res.write(`${JSON.stringify({ type: "ADDED", object: flunder("flunder-1") })}\n`);
          return; // stays open, as a watch does
        }
        json(res, 200, {
          kind: "FlunderList",
          apiVersion: GV,
          metadata: { resourceVersion: "1" },
          items: [flunder("flunder-1")],
        });
        return;
      }
      json(res, 404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404 });
    },
  );
  // An upgraded stream (as exec or port-forward of an aggregated server): echoes in upper case.
  server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
    const user = req.headers["x-remote-user"];
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Seen-User: ${user}\r\n\r\n`,
    );
    socket.on("data", (d: Buffer) => socket.write(d.toString().toUpperCase()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

describe("APIServices and the aggregation proxy with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  let wardle: Awaited<ReturnType<typeof startWardle>>;
  let dir: string;
  let caBundle: string;
  let kc: k8s.KubeConfig;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r.stdout;
  };
  /** Polls the AVAILABLE column of an APIService until it is `want`. */
  const availableBecomes = async (name: string, want: string) => {
    let last = "";
    for (let i = 0; i < 300; i++) {
      last = await ok(["get", "apiservice", name, "--no-headers"]);
      if (last.split(/\s{2,}/)[2] === want) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`apiservice ${name} never became ${want}: ${last}`);
  };
  const jsonpath = (name: string, field: string) => [
    "get",
    "apiservice",
    name,
    "-o",
    `jsonpath={.status.conditions[0].${field}}`,
  ];
  const apiService = (name: string, group: string, version: string, service: string) => `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: ${name} }
spec:
  group: ${group}
  version: ${version}
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: { name: ${service}, namespace: wardle }
  caBundle: ${caBundle}
`;

  before(async () => {
    api = await startTestApiServer({ apiServiceCheckMs: 500 });
    kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), "loopkube-wardle-"));
    const pki = await ensurePki(join(dir, "pki"), {
      clusterName: "wardle",
      hosts: ["api.wardle.svc"],
    });
    caBundle = Buffer.from(pki.caCert).toString("base64");
    // What a real aggregated server reads to trust the front proxy.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const auth = await core.readNamespacedConfigMap({
      name: "extension-apiserver-authentication",
      namespace: "kube-system",
    });
    assert.deepEqual(JSON.parse(auth.data?.["requestheader-username-headers"] ?? ""), [
      "X-Remote-User",
    ]);
    assert.deepEqual(JSON.parse(auth.data?.["requestheader-allowed-names"] ?? ""), [
      "front-proxy-client",
    ]);
    wardle = await startWardle(
      { cert: pki.serverCert, key: pki.serverKey },
      auth.data?.["requestheader-client-ca-file"] ?? "",
    );
  });

  after(async () => {
    wardle?.server.closeAllConnections();
    wardle?.server.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("kube-apiserver's local APIServices are listed Local and Available", async () => {
    const table = await ok(["get", "apiservices"]);
    assert.match(table, /^NAME\s+SERVICE\s+AVAILABLE\s+AGE$/m);
    assert.match(table, /^v1\.\s+Local\s+True\s+\S+$/m);
    assert.match(table, /^v1\.apps\s+Local\s+True\s+/m);
    assert.match(table, /^v1\.apiregistration\.k8s\.io\s+Local\s+True\s+/m);
    const apps = JSON.parse(await ok(["get", "apiservice", "v1.apps", "-o", "json"]));
    assert.equal(apps.spec.groupPriorityMinimum, 17800);
    assert.equal(apps.spec.versionPriority, 15);
    assert.equal(apps.metadata.labels["kube-aggregator.kubernetes.io/automanaged"], "onstart");
    assert.equal(apps.status.conditions[0].message, "Local APIServices are always available");
  });

  test("an APIService is refused with kube's messages", async () => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: wrong }
spec: { group: wardle.example.com, version: v1alpha1, groupPriorityMinimum: 0, versionPriority: 15 }
`,
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /metadata.name: Invalid value: "wrong": must be `spec.version\+"."\+spec.group`: "v1alpha1.wardle.example.com"/,
    );
    assert.match(
      r.out,
      /spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000/,
    );
  });

  test("Available is False with kube's reason until the Service and its Endpoints exist", async () => {
    await ok(["create", "namespace", "wardle"]);
    await ok(
      ["apply", "-f", "-"],
      apiService("v1alpha1.wardle.example.com", "wardle.example.com", "v1alpha1", "api"),
    );
    await availableBecomes("v1alpha1.wardle.example.com", "False (ServiceNotFound)");
    const message = await ok([
      "get",
      "apiservice",
      "v1alpha1.wardle.example.com",
      "-o",
      "jsonpath={.status.conditions[0].message}",
    ]);
    assert.equal(message, 'service/api in "wardle" is not present');
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata: { name: api, namespace: wardle }
spec: { ports: [{ name: https, port: 443, targetPort: ${wardle.port} }] }
`,
    );
    await availableBecomes("v1alpha1.wardle.example.com", "False (EndpointsNotFound)");
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Endpoints
metadata: { name: api, namespace: wardle }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: https, port: ${wardle.port} }] }]
`,
    );
    const row = await availableBecomes("v1alpha1.wardle.example.com", "True");
    assert.match(row, /^v1alpha1\.wardle\.example\.com\s+wardle\/api\s+True\s+/);
    const reason = await ok([
      "get",
      "apiservice",
      "v1alpha1.wardle.example.com",
      "-o",
      "jsonpath={.status.conditions[0].reason}",
    ]);
    assert.equal(reason, "Passed");
  });

  test("kubectl gets the aggregated resource through the proxy, as the requesting user", async () => {
    const before = wardle.seen.length;
    const out = await ok(["get", "flunders", "-n", "default"]);
    assert.match(out, /flunder-1/);
    const calls = wardle.seen.slice(before).filter((s) => s.path.endsWith("/flunders"));
    assert.ok(calls.length > 0, "the backend saw the list");
    for (const call of calls) {
      assert.equal(call.clientCn, "front-proxy-client");
      assert.equal(call.user, "kubernetes-admin");
      assert.ok(call.groups.includes("system:masters"), call.groups.join(","));
      assert.ok(call.groups.includes("system:authenticated"), call.groups.join(","));
    }
    const resources = await ok(["api-resources", "--api-group=wardle.example.com"]);
    assert.match(resources, /^flunders\s+fl\s+wardle\.example\.com\/v1alpha1\s+true\s+Flunder$/m);
    const one = JSON.parse(await ok(["get", "--raw", `/apis/${GV}`]));
    assert.equal(one.resources[0].name, "flunders");
  });

  test("a client's own X-Remote-User never reaches the backend", async () => {
    const before = wardle.seen.length;
    const url = new URL(api.server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/apis/${GV}/namespaces/default/flunders`,
          ca: api.pki.caCert,
          cert: api.pki.adminCert,
          key: api.pki.adminKey,
          headers: { "X-Remote-User": "mallory", "X-Remote-Group": "system:masters" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 200);
    const call = wardle.seen.slice(before).find((s) => s.path.endsWith("/flunders"));
    assert.equal(call?.user, "kubernetes-admin");
  });

  test("an upgrade request is spliced through to the backend", async () => {
    const url = new URL(api.server.url);
    const answer = await new Promise<{ user: string; echo: string }>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `/apis/${GV}/namespaces/default/flunders/flunder-1/exec`,
        ca: api.pki.caCert,
        cert: api.pki.adminCert,
        key: api.pki.adminKey,
        headers: { Connection: "Upgrade", Upgrade: "echo" },
      });
      req.on("upgrade", (res, socket) => {
        socket.once("data", (d: Buffer) => {
          resolve({ user: String(res.headers["x-seen-user"]), echo: d.toString() });
          socket.destroy();
        });
        socket.write("hello");
      });
      req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(answer, { user: "kubernetes-admin", echo: "HELLO" });
  });

  test("client-node lists and watches the aggregated resource", async () => {
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const list = (await objects.listNamespacedCustomObject({
      group: "wardle.example.com",
      version: "v1alpha1",
      namespace: "default",
      plural: "flunders",
    })) as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ["flunder-1"],
    );
    const watch = new k8s.Watch(kc);
    const event = await new Promise<{ type: string; name: string }>((resolve, reject) => {
      let controller: AbortController | undefined;
      watch
        .watch(
          `/apis/${GV}/namespaces/default/flunders`,
          {},
          (type, obj: { metadata: { name: string } }) => {
            resolve({ type, name: obj.metadata.name });
            controller?.abort();
          },
          (err) => {
            if (err && (err as Error).name !== "AbortError") reject(err);
          },
        )
        .then((c) => {
          controller = c;
        }, reject);
    });
    assert.deepEqual(event, { type: "ADDED", name: "flunder-1" });
  });

  test("a CustomResourceDefinition's versions get local APIServices, gone with the CRD", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.stable.example.com }
spec:
  group: stable.example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - { name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object } } }
    - { name: v1beta1, served: false, storage: false, schema: { openAPIV3Schema: { type: object } } }
`,
    );
    await ok(["wait", "--for=condition=Established", "crd/widgets.stable.example.com"]);
    const row = await availableBecomes("v1.stable.example.com", "True");
    assert.match(row, /^v1\.stable\.example\.com\s+Local\s+True/);
    const obj = JSON.parse(await ok(["get", "apiservice", "v1.stable.example.com", "-o", "json"]));
    assert.equal(obj.spec.groupPriorityMinimum, 1000);
    assert.equal(obj.spec.versionPriority, 100);
    assert.equal(obj.metadata.labels["kube-aggregator.kubernetes.io/automanaged"], "true");
    const unserved = await kubectl(["get", "apiservice", "v1beta1.stable.example.com"]);
    assert.match(unserved.out, /NotFound/);
    await ok(["delete", "crd", "widgets.stable.example.com"]);
    for (let i = 0; i < 100; i++) {
      const r = await kubectl(["get", "apiservice", "v1.stable.example.com"]);
      if (r.code !== 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail("the CRD's APIService outlived it");
  });

  test("a service-backed metrics.k8s.io APIService replaces loopkube's own, and its deletion restores it", async () => {
    api.server.serveMetrics({
      collect: async () => ({ nodes: new Map(), pods: new Map() }),
    });
    await availableBecomes("v1beta1.metrics.k8s.io", "True");
    assert.match(await ok(["get", "apiservice", "v1beta1.metrics.k8s.io"]), /Local\s+True/);
    const local = JSON.parse(await ok(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]));
    assert.deepEqual(local.items, []);
    // metrics-server's own manifest, pointing at the test's server.
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: v1beta1.metrics.k8s.io }
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: { name: api, namespace: wardle }
`,
    );
    // The Local mark it kept from before gives way to the check's verdict.
    for (let i = 0; i < 100; i++) {
      const reason = await ok(jsonpath("v1beta1.metrics.k8s.io", "reason"));
      if (reason === "Passed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(await ok(["get", "apiservice", "v1beta1.metrics.k8s.io"]), /wardle\/api\s+True/);
    const proxied = JSON.parse(await ok(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]));
    assert.equal(proxied.items[0].metadata.name, "from-the-backend");
    await ok(["delete", "apiservice", "v1beta1.metrics.k8s.io"]);
    for (let i = 0; i < 100; i++) {
      const r = await kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io", "--no-headers"]);
      if (/Local\s+True/.test(r.stdout)) {
        const back = JSON.parse(await ok(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]));
        assert.deepEqual(back.items, []);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail("the local metrics APIService did not come back");
  });

  test("a stopped backend makes the APIService unavailable and its requests 503", async () => {
    wardle.server.closeAllConnections();
    await new Promise<void>((resolve) => wardle.server.close(() => resolve()));
    const raw = await kubectl(["get", "--raw", `/apis/${GV}/namespaces/default/flunders`]);
    assert.notEqual(raw.code, 0);
    assert.match(raw.out, /the server is currently unable to handle the request/);
    await availableBecomes("v1alpha1.wardle.example.com", "False (FailedDiscoveryCheck)");
    const message = await ok([
      "get",
      "apiservice",
      "v1alpha1.wardle.example.com",
      "-o",
      "jsonpath={.status.conditions[0].message}",
    ]);
    assert.match(
      message,
      new RegExp(
        `^failing or missing response from https://127\\.0\\.0\\.1:${wardle.port}/apis/${GV}: .*connect: connection refused$`,
      ),
    );
    const again = await kubectl(["get", "--raw", `/apis/${GV}/namespaces/default/flunders`]);
    assert.match(again.out, /the server is currently unable to handle the request/);
    const groups = JSON.parse(await ok(["get", "--raw", "/apis"]));
    assert.ok(
      !groups.groups.some((g: { name: string }) => g.name === "wardle.example.com"),
      "an unavailable group leaves discovery",
    );
  });
});
