/**
 * Resource usage end to end (issue 4): a cluster with a real two-container pod (the HTTP fixture
 * and a process that burns a little CPU) and a simulated one; the real `kubectl top` (installed,
 * 1.31, 1.33) lists pods, containers and the node from `metrics.k8s.io/v1beta1`, and the raw API
 * answers what metrics-server answers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import type { MetricsProvider } from "../src/apiserver/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { KUBECTL, kubectlVersions, NO_KUBECTL, run } from "./_kubectl.ts";
import { HTTP_SERVER, NODE } from "./_kubelet.ts";

// About a fifth of a core: enough for a nonzero rate, little enough for a shared test machine.
const SPIN = "setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 100);";

const manifests: KubeObject[] = [
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "busy", labels: { app: "busy" } },
    spec: {
      containers: [
        {
          name: "server",
          image: "node",
          command: [NODE, HTTP_SERVER],
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        },
        { name: "spin", image: "node", command: [NODE, "-e", SPIN] },
      ],
    },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "sim",
      labels: { app: "sim" },
      annotations: { "loopkube.dev/runtime": "simulated" },
    },
    spec: { containers: [{ name: "c", image: "x" }] },
  },
  // No command: it waits (ContainerCreating-like) and never has a process to measure.
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "idle", labels: { app: "idle" } },
    spec: { containers: [{ name: "c", image: "x" }] },
  },
];

interface PodMetricsList {
  kind: string;
  items: Array<{
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    timestamp: string;
    window: string;
    containers: Array<{ name: string; usage: { cpu: string; memory: string } }>;
  }>;
}

const nanocores = (q: string) => {
  const m = /^(\d+)([num]?)$/.exec(q);
  assert.ok(m, `cpu quantity ${q}`);
  return Number(m[1]) * ({ n: 1, u: 1e3, m: 1e6, "": 1e9 }[m[2] ?? ""] ?? 0);
};
const bytes = (q: string) => {
  const m = /^(\d+)(Ki|Mi|Gi|k|M)?$/.exec(q);
  assert.ok(m, `memory quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6 }[m[2] ?? ""] ?? 1);
};

describe("metrics.k8s.io and kubectl top", { skip: NO_KUBECTL }, () => {
  let c: Cluster;
  let node = "";
  const kubectls: Array<[string, string]> = [
    ["installed", KUBECTL ?? ""],
    ...Object.entries(kubectlVersions(["1.31", "1.33"])),
  ];
  const kubectl = (bin: string, ...args: string[]) =>
    run(bin, ["--kubeconfig", c.kubeconfigPath, ...args]);

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    if (!c.hasNodeAgent) return;
    await c.apply(manifests);
    await waitFor(
      async () => {
        const pods = (await c.client.list(REFS.pods, "default")).items;
        // Every container running, not just the first (phase Running needs only one).
        const running = (n: string) => {
          const status = pods.find((p) => p.metadata.name === n)?.status as
            | { containerStatuses?: Array<{ state?: { running?: object } }> }
            | undefined;
          const cs = status?.containerStatuses ?? [];
          return cs.length > 0 && cs.every((x) => x.state?.running);
        };
        return running("busy") && running("sim");
      },
      { what: "every container of both pods running", retryErrors: true },
    );
    node = (await c.client.list(REFS.nodes, "")).items[0]?.metadata.name ?? "";
  });
  after(async () => {
    await c?.stop();
  });

  const raw = async (path: string) => {
    const r = await kubectl(KUBECTL ?? "", "get", "--raw", path);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PodMetricsList;
  };

  test("the raw API lists the running pods' containers with their usage", async () => {
    // CPU is a rate over a window of samples: a container that started a moment ago may show 0
    // at first (its process had not run yet), as metrics-server's first scrape does.
    const list = await waitFor(
      async () => {
        const l = await raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods");
        const spin = l.items[0]?.containers.find((x) => x.name === "spin");
        const server = l.items[0]?.containers.find((x) => x.name === "server");
        // A container is running once its sandbox's shell runs; the node program it then starts
        // holds tens of MiB resident.
        if (
          spin &&
          nanocores(spin.usage.cpu) > 0 &&
          server &&
          bytes(server.usage.memory) > 5 * 2 ** 20
        )
          return l;
        // What was seen, for the timeout's message: which containers, which figures, which window.
        throw new Error(
          `not yet: ${JSON.stringify(l.items.map((i) => [i.metadata.name, i.window, i.containers]))}`,
        );
      },
      // When the first readings show nothing, the rate comes from the next periodic sample (every
      // 10 s) once it is half an interval old: up to 15 s by design, plus a loaded machine's delays.
      {
        what: "the spinner's CPU above 0 and the server's program resident in the PodMetricsList",
        retryErrors: true,
        timeoutMs: 45_000,
      },
    );
    assert.equal(list.kind, "PodMetricsList");
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ["busy", "sim"],
      "sorted, and the pod without a process is left out",
    );
    const busy = list.items[0]!;
    assert.deepEqual(busy.metadata.labels, { app: "busy" });
    assert.match(busy.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(busy.window, /^(\d+h)?(\d+m)?\d+(\.\d+)?m?s$/, "a Go duration");
    const byName = new Map(busy.containers.map((x) => [x.name, x.usage]));
    assert.deepEqual([...byName.keys()].sort(), ["server", "spin"]);
    // A node process holds tens of MiB resident; the spinner uses CPU.
    assert.ok(bytes(byName.get("server")!.memory) > 5 * 2 ** 20, byName.get("server")!.memory);
    assert.ok(nanocores(byName.get("spin")!.cpu) > 0, byName.get("spin")!.cpu);
    assert.deepEqual(list.items[1]!.containers, [{ name: "c", usage: { cpu: "0", memory: "0" } }]);
  });

  test("a get answers one PodMetrics, and 404 for a pod without figures", async () => {
    const one = (await raw(
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy",
    )) as unknown as { kind: string };
    assert.equal(one.kind, "PodMetrics");
    const r = await kubectl(KUBECTL ?? "", "top", "pod", "idle");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /podmetrics\.metrics\.k8s\.io "default\/idle" not found/);
    const sel = await kubectl(KUBECTL ?? "", "top", "pod", "-l", "app=idle");
    assert.notEqual(sel.code, 0);
    assert.match(sel.stderr, /metrics not available yet/);
  });

  test("NodeMetrics lists the node; watch is not supported", async () => {
    const list = (await raw("/apis/metrics.k8s.io/v1beta1/nodes")) as unknown as {
      items: Array<{ metadata: { name: string }; usage: { cpu: string; memory: string } }>;
    };
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      [node],
    );
    assert.ok(bytes(list.items[0]!.usage.memory) > 0);
    const w = await kubectl(
      KUBECTL ?? "",
      "get",
      "--raw",
      "/apis/metrics.k8s.io/v1beta1/pods?watch=true",
    );
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /MethodNotAllowed|not allowed|not supported/i);
  });

  test("legacy discovery names the group, its version and its two read-only resources", async () => {
    const groups = (await raw("/apis")) as unknown as { groups: Array<{ name: string }> };
    assert.ok(groups.groups.some((g) => g.name === "metrics.k8s.io"));
    const group = (await raw("/apis/metrics.k8s.io")) as unknown as {
      preferredVersion: { groupVersion: string };
    };
    assert.equal(group.preferredVersion.groupVersion, "metrics.k8s.io/v1beta1");
    const list = (await raw("/apis/metrics.k8s.io/v1beta1")) as unknown as {
      resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }>;
    };
    assert.deepEqual(
      list.resources.map((r) => [r.name, r.kind, r.namespaced, r.verbs.join(",")]),
      [
        ["nodes", "NodeMetrics", false, "get,list"],
        ["pods", "PodMetrics", true, "get,list"],
      ],
    );
  });

  test("kubectl get apiservices lists the group as a Local APIService, Available", async () => {
    const r = await kubectl(KUBECTL ?? "", "get", "apiservices");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^v1beta1\.metrics\.k8s\.io\s+Local\s+True\s+/m);
    assert.match(r.stdout, /^v1\.\s+Local\s+True\s+/m);
  });

  for (const [version, bin] of kubectls) {
    test(`kubectl ${version}: api-resources shows the metrics group`, async () => {
      const r = await kubectl(bin, "api-resources", "--api-group=metrics.k8s.io");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics$/m);
      assert.match(r.stdout, /^pods\s+metrics\.k8s\.io\/v1beta1\s+true\s+PodMetrics$/m);
    });

    test(`kubectl ${version}: top pods lists the pods with their memory`, async () => {
      const r = await kubectl(bin, "top", "pods");
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.match(lines[0]!, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
      const busy = /^busy\s+(\d+)m\s+(\d+)Mi/m.exec(r.stdout);
      assert.ok(busy, r.stdout);
      assert.ok(Number(busy[2]) > 0, `memory ${busy[2]}Mi`);
      assert.match(r.stdout, /^sim\s+0m\s+0Mi/m);
    });

    test(`kubectl ${version}: top pod --containers, -A, -l and --sort-by`, async () => {
      const ctr = await kubectl(bin, "top", "pod", "busy", "--containers");
      assert.equal(ctr.code, 0, ctr.stderr);
      assert.match(ctr.stdout, /^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
      assert.match(ctr.stdout, /^busy\s+server\s+\d+m\s+\d+Mi/m);
      assert.match(ctr.stdout, /^busy\s+spin\s+\d+m\s+\d+Mi/m);

      const all = await kubectl(bin, "top", "pod", "-A", "--sort-by=memory");
      assert.equal(all.code, 0, all.stderr);
      const rows = all.stdout.trim().split("\n").slice(1);
      assert.match(rows[0] ?? "", /^default\s+busy\s/, "the biggest first");
      assert.match(all.stdout, /^default\s+sim\s+0m\s+0Mi/m);

      const sel = await kubectl(bin, "top", "pod", "-l", "app=sim", "--sort-by=cpu");
      assert.equal(sel.code, 0, sel.stderr);
      assert.deepEqual(
        sel.stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => l.split(/\s+/)[0]),
        ["sim"],
      );
      const field = await kubectl(bin, "top", "pod", "--field-selector", "metadata.name=busy");
      assert.equal(field.code, 0, field.stderr);
      assert.doesNotMatch(field.stdout, /^sim/m);
      assert.match(field.stdout, /^busy/m);
    });

    test(`kubectl ${version}: top nodes lists the node with percentages of allocatable`, async () => {
      const r = await kubectl(bin, "top", "nodes");
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)/,
      );
      const row = new RegExp(`^${node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, "m");
      assert.match(r.stdout, row);
    });
  }
});

describe("the metrics group over a provider of fixed figures", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const at = new Date("2026-01-02T03:04:05Z");
  const provider: MetricsProvider = {
    collect: async () => ({
      nodes: new Map([
        ["n1", { timestamp: at, windowMs: 15_000, cpuNanoCores: 5e8, memoryBytes: 2 ** 30 }],
      ]),
      pods: new Map(
        ["a/web", "b/web"].map((k) => [
          k,
          {
            timestamp: at,
            windowMs: 10_500,
            containers: [{ name: "app", cpuNanoCores: 5e6, memoryBytes: 10 * 2 ** 20 }],
          },
        ]),
      ),
    }),
  };
  const pod = (namespace: string, name: string, app: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace, name, labels: { app } },
    spec: { containers: [{ name: "app", image: "x" }] },
  });

  before(async () => {
    api = await startTestApiServer();
    const reg = api.server.registry;
    for (const ns of ["a", "b"]) {
      reg.createSync(REFS.namespaces, "", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
    }
    reg.createSync(REFS.nodes, "", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1" },
      status: { allocatable: { cpu: "2", memory: "4Gi" }, capacity: { cpu: "2", memory: "4Gi" } },
    });
    for (const p of [
      pod("a", "web", "web"),
      pod("b", "web", "web"),
      pod("default", "other", "x"),
    ]) {
      reg.createSync(REFS.pods, p.metadata.namespace ?? "", p);
    }
  });
  after(async () => {
    await api?.stop();
  });

  test("without a provider the group is absent and kubectl top says the API is not available", async () => {
    const r = await api.kubectl(["top", "pods", "--cache-dir", join(api.dir, "cache-before")]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Metrics API not available/);
  });

  test("with a provider, lists join its figures with the pods the selectors pick", async () => {
    api.server.serveMetrics(provider);
    const get = async (path: string) => {
      const r = await api.kubectl(["get", "--raw", path]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as PodMetricsList;
    };
    const names = (l: PodMetricsList) =>
      l.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
    const base = "/apis/metrics.k8s.io/v1beta1";
    assert.deepEqual(names(await get(`${base}/pods`)), ["a/web", "b/web"]);
    assert.deepEqual(names(await get(`${base}/pods?fieldSelector=metadata.namespace%3Db`)), [
      "b/web",
    ]);
    assert.deepEqual(names(await get(`${base}/pods?labelSelector=app%3Dnone`)), []);
    const one = await get(`${base}/namespaces/a/pods/web`);
    assert.deepEqual(one as unknown, {
      kind: "PodMetrics",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: {
        name: "web",
        namespace: "a",
        creationTimestamp: (one as unknown as { metadata: { creationTimestamp: string } }).metadata
          .creationTimestamp,
        labels: { app: "web" },
      },
      timestamp: "2026-01-02T03:04:05Z",
      window: "10.5s",
      containers: [{ name: "app", usage: { cpu: "5m", memory: "10Mi" } }],
    });
    const missing = await api.kubectl(["get", "--raw", `${base}/namespaces/default/pods/other`]);
    assert.match(missing.stderr, /NotFound|not found/);
  });

  test("kubectl top reads the figures: pods across namespaces and the node against its allocatable", async () => {
    api.server.serveMetrics(provider);
    const cache = ["--cache-dir", join(api.dir, "cache-after")];
    const pods = await api.kubectl(["top", "pods", "-A", ...cache]);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /^a\s+web\s+5m\s+10Mi/m);
    assert.match(pods.stdout, /^b\s+web\s+5m\s+10Mi/m);
    const nodes = await api.kubectl(["top", "nodes", ...cache]);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /^n1\s+500m\s+25%\s+1024Mi\s+25%/m);
    const table = await api.kubectl(["get", "nodes.metrics.k8s.io", ...cache]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^n1\s+500m\s+1Gi\s+15s/m);
  });
});
