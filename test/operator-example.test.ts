/**
 * The operator example (examples/operator) works as its README says. As an operator author tests
 * it: a cluster from `startCluster({ crdPaths })` with the example's CRD installed, the
 * controller (`node controller.js`, its kubeconfig from KUBECONFIG) reconciling a Website made
 * with kubectl into a Deployment and a Service the Website owns, whose pods run and whose
 * readiness the controller writes to the Website's status, and which follow its replicas; a
 * Website breaking the CEL rule (on create or update) is refused with kube's message, and
 * deleting the Website deletes what it owned (the garbage collector). And as a pod: the whole example applied with kubectl, the controller in its pod
 * (in-cluster config, its ServiceAccount and Role) reconciles a Website; without the RoleBinding,
 * restarted, it logs kube's 403 Forbidden. The pod case needs root (the pod sandbox mounts the
 * token, the code and the library at their paths) and says so when skipped. Offline, the
 * example's `npm install` init container is replaced by a hostPath of this checkout's modules.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import type { KubeObject } from "../src/api/types.ts";
import { readManifests } from "../src/cluster/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { sandboxSupported } from "../src/kubelet/sandbox/index.ts";
import { KUBECTL, NO_KUBECTL, type RunResult, run } from "./_kubectl.ts";

const ROOT = join(import.meta.dirname, "..");
const EXAMPLE = join(ROOT, "examples", "operator");
const WEBSITE = join(EXAMPLE, "sample", "website.yaml");
const CEL_MESSAGE =
  'The Website "too-big" is invalid: spec: Invalid value: "object": a Website runs at most 5 replicas';

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function fetchText(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: ip, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
}

/** kubectl against one cluster, with a cache of its own. */
function kubectlFor(c: Cluster) {
  const cache = join(c.dataDir, "kube-cache");
  const kubectl = (args: string[], input?: string): Promise<RunResult> =>
    run(KUBECTL ?? "", ["--kubeconfig", c.kubeconfigPath, "--cache-dir", cache, ...args], {
      ...(input === undefined ? {} : { input }),
    });
  const getJson = async (args: string[]): Promise<Obj | undefined> => {
    const r = await kubectl(["get", ...args, "-o", "json"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
  };
  return { kubectl, getJson };
}

/** The Website "hello" of sample/website.yaml reconciled: its Deployment owned by it, status written. */
async function expectReconciled(
  getJson: (args: string[]) => Promise<Obj | undefined>,
): Promise<{ website: Obj; deployment: Obj }> {
  const website = await waitFor(() => getJson(["website", "hello"]), { what: "website hello" });
  const deployment = await waitFor(() => getJson(["deployment", "hello"]), {
    what: "the controller to create Deployment hello",
    timeoutMs: 60_000,
  });
  assert.deepEqual(deployment.metadata.ownerReferences, [
    {
      apiVersion: "demo.loopkube.dev/v1",
      kind: "Website",
      name: "hello",
      uid: website.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  const service = await waitFor(() => getJson(["service", "hello"]), { what: "Service hello" });
  assert.equal(service.metadata.ownerReferences?.[0]?.uid, website.metadata.uid);
  const ready = await waitFor(
    async () => {
      const w = await getJson(["website", "hello"]);
      const status = w?.status as
        | { readyReplicas?: number; conditions?: Array<{ type: string; status: string }> }
        | undefined;
      const condition = status?.conditions?.find((x) => x.type === "Ready");
      return status?.readyReplicas === 2 && condition?.status === "True" ? w : undefined;
    },
    { what: "Website hello's status to say 2 replicas ready", timeoutMs: 90_000 },
  );
  return { website: ready, deployment };
}

describe("examples/operator, tested as a library user would", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  let controller: ChildProcess | undefined;
  let log = "";
  let kubectl: ReturnType<typeof kubectlFor>["kubectl"];
  let getJson: ReturnType<typeof kubectlFor>["getJson"];

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      crdPaths: [join(EXAMPLE, "crd.yaml")],
    });
    ({ kubectl, getJson } = kubectlFor(c));
    controller = spawn(process.execPath, [join(EXAMPLE, "controller.js")], {
      env: { ...process.env, KUBECONFIG: c.kubeconfigPath, WATCH_NAMESPACE: "default" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    controller.stdout?.on("data", (d) => {
      log += String(d);
    });
    controller.stderr?.on("data", (d) => {
      log += String(d);
    });
    await waitFor(() => log.includes("watching websites.demo.loopkube.dev in namespace default"), {
      what: "the controller to start",
      timeoutMs: 30_000,
    });
  });
  after(async () => {
    controller?.kill("SIGTERM");
    await c?.stop();
  });

  test("a Website becomes a Deployment and a Service it owns, whose pods serve its message", async () => {
    const applied = await kubectl(["apply", "-f", WEBSITE]);
    assert.equal(applied.code, 0, applied.stderr);
    const { website } = await expectReconciled(getJson);
    assert.equal(
      (website.spec as { replicas?: number }).replicas,
      2,
      "the sample asks for two replicas",
    );
    const pods = await getJson(["pods", "-l", "demo.loopkube.dev/website=hello"]);
    const items = (pods as unknown as { items: Obj[] }).items;
    assert.equal(items.length, 2);
    for (const pod of items) {
      assert.equal((pod.status as { phase?: string }).phase, "Running");
      const ip = (pod.status as { podIP?: string }).podIP ?? "";
      assert.equal(await fetchText(ip, 8080), "hello from a Website\n");
    }
    const table = await kubectl(["get", "websites"]);
    assert.match(table.stdout, /^NAME\s+REPLICAS\s+READY\s+AGE\nhello\s+2\s+2\s+\S+\n$/);
    assert.match(log, /website default\/hello: 2 of 2 replicas ready/);
  });

  test("changing a Website's replicas scales its Deployment; the CEL rule holds on update too", async () => {
    const patch = (replicas: number) =>
      kubectl([
        "patch",
        "website",
        "hello",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { replicas } }),
      ]);
    const scaled = await patch(3);
    assert.equal(scaled.code, 0, scaled.stderr);
    await waitFor(
      async () => {
        const d = await getJson(["deployment", "hello"]);
        const w = await getJson(["website", "hello"]);
        return (
          (d?.spec as { replicas?: number } | undefined)?.replicas === 3 &&
          (w?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 3
        );
      },
      {
        what: "Deployment hello to have 3 replicas and the Website to say 3 ready",
        timeoutMs: 60_000,
      },
    );
    const refused = await patch(7);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /The Website "hello" is invalid: spec: Invalid value: "object": a Website runs at most 5 replicas/,
    );
  });

  test("a Website breaking the CEL rule is refused with kube's message", async () => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "demo.loopkube.dev/v1",
        kind: "Website",
        metadata: { name: "too-big" },
        spec: { message: "too many", replicas: 6 },
      }),
    );
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(CEL_MESSAGE), r.stderr);
    assert.equal(await getJson(["website", "too-big"]), undefined);
  });

  test("deleting the Website deletes its Deployment, Service and pods", async () => {
    const r = await kubectl(["delete", "-f", WEBSITE, "--wait=true"]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      async () =>
        (await getJson(["deployment", "hello"])) === undefined &&
        (await getJson(["service", "hello"])) === undefined,
      { what: "the garbage collector to delete Deployment and Service hello", timeoutMs: 30_000 },
    );
    await waitFor(
      async () => {
        const pods = await getJson(["pods", "-l", "demo.loopkube.dev/website=hello"]);
        return (pods as unknown as { items?: Obj[] } | undefined)?.items?.length === 0;
      },
      { what: "hello's pods to go", timeoutMs: 60_000 },
    );
  });
});

/** The example's manifests, its `npm install` replaced by a hostPath of this checkout's modules. */
function offlineManifests(): Obj[] {
  const files = ["crd.yaml", "rbac.yaml", "rolebinding.yaml", "code.yaml", "deployment.yaml"];
  return readManifests(files.map((f) => join(EXAMPLE, f))).map(({ object }) => {
    const o = object as Obj;
    if (o.kind !== "Deployment") return o;
    const spec = (o.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    delete spec.initContainers;
    spec.volumes = (spec.volumes as Array<{ name: string }>).map((v) =>
      v.name === "client-node"
        ? { name: v.name, hostPath: { path: realpathSync(ROOT), type: "Directory" } }
        : v,
    );
    return o;
  });
}

describe("examples/operator, the controller as a pod", {
  skip: NO_KUBECTL
    ? NO_KUBECTL
    : sandboxSupported()
      ? false
      : "needs root and util-linux: without the pod sandbox the controller's token, code and library are not mounted at the paths it reads them from",
}, () => {
  let c: Cluster;
  let kubectl: ReturnType<typeof kubectlFor>["kubectl"];
  let getJson: ReturnType<typeof kubectlFor>["getJson"];

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    ({ kubectl, getJson } = kubectlFor(c));
  });
  after(async () => {
    await c?.stop();
  });

  test("reconciles with its Role; without the RoleBinding it logs kube's 403 Forbidden", async () => {
    for (const o of offlineManifests()) {
      const r = await kubectl(["apply", "-f", "-"], JSON.stringify(o));
      assert.equal(r.code, 0, r.stderr);
      if (o.kind === "CustomResourceDefinition") {
        const established = await kubectl([
          "wait",
          "--for=condition=Established",
          `crd/${o.metadata.name}`,
        ]);
        assert.equal(established.code, 0, established.stderr);
      }
    }
    const applied = await kubectl(["apply", "-f", WEBSITE]);
    assert.equal(applied.code, 0, applied.stderr);
    await expectReconciled(getJson).catch(async (e) => {
      const pods = await kubectl([
        "get",
        "pods",
        "-l",
        "app=website-controller",
        "-o",
        "jsonpath={.items[*].status.containerStatuses}",
      ]);
      const logs = await kubectl(["logs", "deployment/website-controller", "--previous"]);
      const events = await kubectl(["get", "events"]);
      throw new Error(`${e}\n${pods.stdout}\n${logs.stdout}${logs.stderr}\n${events.stdout}`);
    });
    const logs = await kubectl(["logs", "deployment/website-controller"]);
    assert.match(logs.stdout, /watching websites\.demo\.loopkube\.dev in namespace default/);

    const unbound = await kubectl(["delete", "-f", join(EXAMPLE, "rolebinding.yaml")]);
    assert.equal(unbound.code, 0, unbound.stderr);
    const restarted = await kubectl(["delete", "pod", "-l", "app=website-controller"]);
    assert.equal(restarted.code, 0, restarted.stderr);
    const forbidden =
      '403 Forbidden: websites.demo.loopkube.dev is forbidden: User "system:serviceaccount:default:website-controller" cannot list resource "websites" in API group "demo.loopkube.dev" in the namespace "default"';
    await waitFor(
      async () => {
        const r = await kubectl(["logs", "deployment/website-controller"]);
        return r.code === 0 && r.stdout.includes(forbidden);
      },
      { what: "the restarted controller to log 403 Forbidden", timeoutMs: 60_000 },
    );
  });
});
