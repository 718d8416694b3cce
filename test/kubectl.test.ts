/**
 * The API server judged by the real kubectl: every everyday command a user types, against a
 * server started by the test, with the installed kubectl and the versioned ones beside it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { KUBECTL, kubectlVersions, NO_KUBECTL } from "./_kubectl.ts";

const DEPLOYMENT = (image: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
        command: ["node", "server.js"]
        ports: [{containerPort: 8080}]${extra}
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
`;

const versions: Array<[string, string | undefined]> = [
  ["installed", KUBECTL],
  ...Object.entries(kubectlVersions(["1.31", "1.33"])),
];

for (const [label, bin] of versions) {
  describe(`kubectl (${label})`, { skip: NO_KUBECTL }, () => {
    let api: TestApiServer;
    const k = (args: string[], input?: string) =>
      api.kubectl(args, { ...(bin ? { bin } : {}), ...(input !== undefined ? { input } : {}) });
    const ok = async (args: string[], input?: string) => {
      const r = await k(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    };

    before(async () => {
      api = await startTestApiServer({ watchBookmarkMs: 1000 });
    });
    after(async () => {
      await api?.stop();
    });

    test("version shows the server's version", async () => {
      const out = JSON.parse(await ok(["version", "-o", "json"]));
      assert.equal(out.serverVersion.major, "1");
      assert.match(out.serverVersion.gitVersion, /^v1\.\d+\.\d+/);
    });

    test("api-resources lists short names and groups", async () => {
      const out = await ok(["api-resources"]);
      assert.match(out, /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
      assert.match(out, /services\s+svc\s+v1\s+true\s+Service/);
      assert.match(out, /endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice/);
    });

    test("apply -f creates, then patches a change, then reports unchanged", async () => {
      assert.match(
        await ok(["apply", "-f", "-"], DEPLOYMENT("nginx:1.0")),
        /deployment\.apps\/web created/,
      );
      assert.match(
        await ok(["apply", "-f", "-"], DEPLOYMENT("nginx:2.0")),
        /deployment\.apps\/web configured/,
      );
      assert.match(
        await ok(["apply", "-f", "-"], DEPLOYMENT("nginx:2.0")),
        /deployment\.apps\/web unchanged/,
      );
      const image = await ok([
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
      ]);
      assert.equal(image, "nginx:2.0");
      const gen = await ok(["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]);
      assert.equal(gen, "2");
    });

    test("apply --server-side creates and updates", async () => {
      const cm = (v: string) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: "${v}"}\n`;
      assert.match(
        await ok(["apply", "--server-side", "-f", "-"], cm("1")),
        /configmap\/ssa serverside-applied/,
      );
      assert.match(
        await ok(["apply", "--server-side", "-f", "-"], cm("2")),
        /configmap\/ssa serverside-applied/,
      );
      assert.equal(await ok(["get", "cm", "ssa", "-o", "jsonpath={.data.k}"]), "2");
    });

    test("create -f, create namespace and create deployment", async () => {
      assert.match(await ok(["create", "-f", "-"], SERVICE), /service\/web created/);
      assert.match(await ok(["create", "namespace", "team-a"]), /namespace\/team-a created/);
      assert.match(
        await ok([
          "create",
          "deployment",
          "api",
          "--image=busybox",
          "-n",
          "team-a",
          "--",
          "sleep",
          "3600",
        ]),
        /deployment\.apps\/api created/,
      );
      assert.match(
        await ok(["create", "configmap", "cfg", "--from-literal=a=b"]),
        /configmap\/cfg created/,
      );
      assert.match(
        await ok(["create", "secret", "generic", "sec", "--from-literal=p=q"]),
        /secret\/sec created/,
      );
      assert.match(
        await ok(["create", "service", "clusterip", "svc2", "--tcp=80:8080"]),
        /service\/svc2 created/,
      );
      const replicas = await ok([
        "get",
        "deploy",
        "api",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.spec.replicas} {.spec.strategy.type} {.spec.template.spec.containers[0].command}",
      ]);
      assert.match(replicas, /^1 RollingUpdate \["sleep","3600"\]$/);
    });

    test("get prints tables, wide tables, yaml and jsonpath", async () => {
      const table = await ok(["get", "deploy"]);
      assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
      assert.match(table, /\nweb\s+0\/2\s+0\s+0\s+\d+s/);
      assert.match(await ok(["get", "deploy", "-o", "wide"]), /CONTAINERS\s+IMAGES\s+SELECTOR/);
      assert.match(await ok(["get", "deploy", "web", "-o", "yaml"]), /kind: Deployment/);
      const ip = await ok(["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
      assert.match(ip, /^127\.96\.\d+\.\d+$/);
      const svc = await ok(["get", "svc", "web"]);
      assert.match(svc, /NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
      assert.match(svc, /web\s+ClusterIP\s+127\.96\.\d+\.\d+\s+<none>\s+80\/TCP/);
      assert.match(await ok(["get", "ns"]), /kube-system\s+Active/);
    });

    test("get -w prints a row for each change", async () => {
      const child = spawn(
        bin ?? KUBECTL!,
        [
          "--kubeconfig",
          api.kubeconfigPath,
          "--cache-dir",
          `${api.dir}/kube-cache`,
          "get",
          "configmaps",
          "-w",
        ],
        {
          env: { ...process.env, HOME: api.dir },
        },
      );
      let out = "";
      child.stdout.on("data", (d) => {
        out += String(d);
      });
      try {
        await waitFor(() => out.includes("NAME"), { what: "the list header" });
        await ok(["create", "configmap", "watched", "--from-literal=x=y"]);
        await waitFor(() => /\nwatched\s+1\s+/.test(out), { what: "a row for the new configmap" });
        await ok(["label", "configmap", "watched", "seen=yes"]);
        await waitFor(() => out.split("\n").filter((l) => l.startsWith("watched")).length >= 2, {
          what: "a row for the change",
        });
      } finally {
        child.kill();
      }
    });

    test("describe, label, annotate, patch and scale", async () => {
      assert.match(await ok(["describe", "deploy", "web"]), /Name:\s+web/);
      assert.match(
        await ok(["label", "deploy", "web", "tier=front"]),
        /deployment\.apps\/web labeled/,
      );
      assert.match(
        await ok(["annotate", "deploy", "web", "note=hi"]),
        /deployment\.apps\/web annotated/,
      );
      assert.equal(
        await ok([
          "get",
          "deploy",
          "web",
          "-o",
          "jsonpath={.metadata.labels.tier} {.metadata.annotations.note}",
        ]),
        "front hi",
      );
      assert.match(
        await ok(["label", "deploy", "web", "tier-"]),
        /deployment\.apps\/web unlabeled/,
      );
      assert.match(
        await ok([
          "patch",
          "deploy",
          "web",
          "-p",
          '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:3"}]}}}}',
        ]),
        /deployment\.apps\/web patched/,
      );
      assert.match(
        await ok([
          "patch",
          "deploy",
          "web",
          "--type",
          "merge",
          "-p",
          '{"spec":{"minReadySeconds":1}}',
        ]),
        /patched/,
      );
      assert.match(
        await ok([
          "patch",
          "deploy",
          "web",
          "--type",
          "json",
          "-p",
          '[{"op":"replace","path":"/spec/minReadySeconds","value":2}]',
        ]),
        /patched/,
      );
      assert.match(
        await ok([
          "patch",
          "deploy",
          "web",
          "--type",
          "merge",
          "-p",
          '{"spec":{"minReadySeconds":2}}',
        ]),
        /patched \(no change\)/,
      );
      assert.equal(
        await ok([
          "get",
          "deploy",
          "web",
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image} {.spec.minReadySeconds}",
        ]),
        "nginx:3 2",
      );
      assert.match(
        await ok(["scale", "deploy", "web", "--replicas=4"]),
        /deployment\.apps\/web scaled/,
      );
      assert.equal(await ok(["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "4");
    });

    test("explain prints the schema", async () => {
      const out = await ok(["explain", "pod.spec"]);
      assert.match(out, /containers/);
    });

    test("errors read as against a real cluster", async () => {
      const missing = await k(["get", "deploy", "nope"]);
      assert.notEqual(missing.code, 0);
      assert.match(
        missing.stderr,
        /Error from server \(NotFound\): deployments\.apps "nope" not found/,
      );
      const current = JSON.parse(await ok(["get", "cm", "cfg", "-o", "json"]));
      current.metadata.resourceVersion = "1";
      const stale = await k(["replace", "-f", "-"], JSON.stringify(current));
      assert.notEqual(stale.code, 0);
      assert.match(
        stale.stderr,
        /Operation cannot be fulfilled on configmaps "cfg": the object has been modified/,
      );
      const bad = DEPLOYMENT("nginx")
        .replace("name: web\n", "name: bad\n")
        .replace("replicas: 2", "replicas: -1");
      const invalid = await k(["create", "-f", "-"], bad);
      assert.notEqual(invalid.code, 0);
      assert.match(
        invalid.stderr,
        /The Deployment "bad" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/,
      );
      assert.match((await k(["get", "deploy", "bad"])).stderr, /NotFound/);
    });

    test("delete removes the object", async () => {
      assert.match(await ok(["delete", "configmap", "cfg"]), /configmap "cfg" deleted/);
      const gone = await k(["get", "configmap", "cfg"]);
      assert.match(gone.stderr, /NotFound/);
    });
  });
}
