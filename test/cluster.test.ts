/**
 * `startCluster` end to end: the real kubectl sees the bootstrap Services, Node's own DNS resolver
 * resolves cluster names through the cluster's DNS server, two clusters run side by side on
 * ranges of their own, and a restart on the same data dir keeps objects, Service IPs and ranges.
 * Addresses are read from the cluster (`addresses`): other clusters may run on this machine. Pods are bound and made ready by
 * hand through the status subresource (the node agent is not part of this test).
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { rangeOverlaps } from "../src/api/addressplan.ts";
import { cidrContains, nthAddress, parseCidr } from "../src/api/cidr.ts";
import { REFS, sub } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, ClusterError, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

function resolverFor(c: Cluster): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([`${c.dnsAddress.host}:${c.dnsAddress.port}`]);
  return r;
}

/** The n-th address of the cluster's pod range. */
const podIP = (c: Cluster, n: number) => nthAddress(parseCidr(c.addresses.podCidr), n);
const dotted = (s: string) => s.replace(/[.]/g, "\\.");

async function resolve4Sorted(r: Resolver, name: string): Promise<string[]> {
  try {
    return (await r.resolve4(name)).sort();
  } catch {
    return [];
  }
}

/** A pod bound to a node of its own and marked Running/Ready at `ip`, as a node agent would. */
async function readyPod(c: Cluster, name: string, ip: string, extra: object = {}): Promise<void> {
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: {
      // Not the cluster's node, so a node agent (when present) leaves these pods alone.
      nodeName: "by-hand",
      containers: [{ name: "c", image: "node", ports: [{ containerPort: 8080 }] }],
      ...extra,
    },
  };
  const created = await c.client.create(REFS.pods, "default", pod);
  const now = new Date().toISOString();
  await c.client.update(sub(REFS.pods, "status"), "default", {
    ...created,
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: c.addresses.nodeIP,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
    },
  });
}

describe("startCluster", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
  });
  after(async () => {
    await c?.stop();
  });

  test("kubectl lists the kubernetes and kube-dns Services at their fixed IPs", {
    skip: NO_KUBECTL,
  }, async () => {
    const r = await run(KUBECTL ?? "", [
      "--kubeconfig",
      c.kubeconfigPath,
      "--cache-dir",
      join(c.dataDir, "kube-cache"),
      "get",
      "svc",
      "-A",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { kubernetesServiceIP, dnsServiceIP } = c.addresses;
    assert.match(
      r.stdout,
      new RegExp(
        `default\\s+kubernetes\\s+ClusterIP\\s+${dotted(kubernetesServiceIP)}\\s+<none>\\s+443/TCP`,
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        `kube-system\\s+kube-dns\\s+ClusterIP\\s+${dotted(dnsServiceIP)}\\s+<none>\\s+53/UDP,53/TCP`,
      ),
    );
  });

  test("the kubernetes EndpointSlice points at the API server", async () => {
    const slice = (await c.client.get(
      REFS.endpointslices,
      "default",
      "kubernetes",
    )) as KubeObject & {
      endpoints: Array<{ addresses: string[] }>;
      ports: Array<{ port: number }>;
    };
    assert.deepEqual(slice.endpoints[0]?.addresses, ["127.0.0.1"]);
    assert.equal(slice.ports[0]?.port, Number(new URL(c.apiUrl).port));
  });

  /** A GET without credentials (kube's `system:anonymous`), or as the kubeconfig's admin. */
  const getOverHttps = async (path: string, asAdmin = false): Promise<string> => {
    const { request } = await import("node:https");
    const field = (name: string) =>
      Buffer.from(new RegExp(`${name}: (\\S+)`).exec(c.kubeconfig)?.[1] ?? "", "base64").toString();
    const ca = field("certificate-authority-data");
    const admin = asAdmin
      ? { cert: field("client-certificate-data"), key: field("client-key-data") }
      : {};
    return new Promise<string>((resolve, reject) => {
      request(`${c.apiUrl}${path}`, { ca, ...admin }, (res) => {
        let s = "";
        res.on("data", (d) => {
          s += String(d);
        });
        res.on("end", () => resolve(`${res.statusCode} ${s}`));
      })
        .on("error", reject)
        .end();
    });
  };

  test("/readyz answers ok over HTTPS with the cluster's CA", async () => {
    assert.equal(await getOverHttps("/readyz"), "200 ok");
  });

  test("/readyz?verbose lists every component's check, as kube-apiserver lists its own", async () => {
    // The oci-runtime check says what this machine offers (crun or runc and cgroups, or why not).
    const verbose = (await getOverHttps("/readyz?verbose")).replace(
      /^\[\+\]oci-runtime ok(: .+)?$/m,
      "[+]oci-runtime ok: <what this machine offers>",
    );
    assert.equal(
      verbose,
      [
        "200 [+]ping ok",
        "[+]etcd ok",
        "[+]apiserver ok",
        "[+]controllers ok",
        "[+]dns ok",
        "[+]proxy ok",
        "[+]ingress ok",
        "[+]node-agent ok",
        "[+]oci-runtime ok: <what this machine offers>",
        "[+]startup ok",
        "readyz check passed",
        "",
      ].join("\n"),
    );
    // One check by name needs a user allowed `/readyz/*` (kube's system:monitoring), as on kube.
    assert.equal(await getOverHttps("/readyz/dns", true), "200 ok");
    assert.equal(await getOverHttps("/readyz/etcd", true), "200 ok");
    assert.match(await getOverHttps("/readyz/kms-providers", true), /^404 /);
    assert.match(await getOverHttps("/readyz/dns"), /^403 .*system:anonymous/);
  });

  test("Node's resolver finds kubernetes.default through the cluster DNS", async () => {
    const r = resolverFor(c);
    assert.deepEqual(await r.resolve4("kubernetes.default.svc.cluster.local"), [
      c.addresses.kubernetesServiceIP,
    ]);
  });

  test("a headless Service resolves to its ready pods' IPs and each pod's stable name", async () => {
    await c.apply([
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          clusterIP: "None",
          selector: { app: "web" },
          ports: [{ port: 80, targetPort: 8080 }],
        },
      },
    ]);
    const [ip0, ip1] = [podIP(c, 10), podIP(c, 11)];
    await readyPod(c, "web-0", ip0, { hostname: "web-0", subdomain: "web" });
    await readyPod(c, "web-1", ip1, { hostname: "web-1", subdomain: "web" });
    const r = resolverFor(c);
    const name = "web.default.svc.cluster.local";
    await waitFor(
      async () => ((await resolve4Sorted(r, name)).join() === `${ip0},${ip1}` ? true : undefined),
      { what: `${name} to resolve to both pods` },
    );
    assert.deepEqual(await r.resolve4("web-1.web.default.svc.cluster.local"), [ip1]);
  });

  test("a LoadBalancer Service gets a loopback ingress IP in its status", async () => {
    await c.apply([
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "lb" },
        spec: { type: "LoadBalancer", selector: { app: "web" }, ports: [{ port: 18080 }] },
      },
    ]);
    const ingress = await waitFor(
      async () => {
        const svc = (await c.client.get(REFS.services, "default", "lb")) as KubeObject & {
          status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } };
        };
        return svc.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      { what: "the LoadBalancer ingress IP" },
    );
    assert.ok(cidrContains(parseCidr(c.addresses.loadBalancerCidr), ingress), ingress);
  });

  test("apply rejects an invalid object with one sentence naming its source", async () => {
    await assert.rejects(
      c.apply([
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "bad" },
          spec: { ports: [{ port: 0 }] },
        },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof ClusterError);
        assert.match(
          err.message,
          /^manifest <inline>: Service "bad" is invalid: .*spec\.ports\[0\]\.port: Invalid value: 0/,
        );
        return true;
      },
    );
  });

  test("the quickstart's pods become ready and its headless name resolves to their IPs", async (t) => {
    if (!c.hasNodeAgent) {
      t.skip("no node agent in this build: pods cannot run");
      return;
    }
    const applied = await c.apply(join(import.meta.dirname, "..", "examples", "quickstart"));
    await c.waitReady(applied, { timeoutMs: 30_000 });
    const pods = (await c.client.list(REFS.pods, "default", { labelSelector: "app=my-app" }))
      .items as Array<KubeObject & { status?: { podIP?: string } }>;
    const ips = pods.map((p) => p.status?.podIP ?? "").sort();
    assert.equal(ips.length, 3);
    const r = resolverFor(c);
    const name = "my-headless-service.default.svc.cluster.local";
    await waitFor(
      async () => ((await resolve4Sorted(r, name)).join() === ips.join() ? true : undefined),
      { what: `${name} to resolve to ${ips.join()}` },
    );
  });

  test("the quickstart's ClusterIP spreads 300 requests over its three pods through the proxy", async (t) => {
    if (!c.hasNodeAgent) {
      t.skip("no node agent in this build: pods cannot run");
      return;
    }
    if (process.getuid?.() !== 0) {
      t.skip(
        "binding a Service's port 80 on its ClusterIP needs root (or a lower ip_unprivileged_port_start)",
      );
      return;
    }
    const svc = await c.client.get(REFS.services, "default", "my-service");
    const ip = (svc.spec as { clusterIP: string }).clusterIP;
    const get = () =>
      new Promise<string>((resolve, reject) => {
        // A fresh connection per request (no keep-alive agent), as kube-proxy balances connections.
        const req = httpGet({ host: ip, port: 80, path: "/", agent: false }, (res) => {
          let body = "";
          res.on("data", (d) => {
            body += String(d);
          });
          res.on("end", () => resolve(body));
        });
        req.on("error", reject);
      });
    // The proxy opens its listener as soon as the Service and its slice reach it.
    await waitFor(async () => (await get().catch(() => "")).startsWith("hello from") || undefined, {
      what: `${ip}:80 to answer`,
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const pod = /hello from (\S+)/.exec(await get())?.[1] ?? "?";
      counts.set(pod, (counts.get(pod) ?? 0) + 1);
    }
    assert.equal(counts.size, 3, JSON.stringify([...counts]));
    for (const [pod, n] of counts) assert.ok(n >= 50, `${pod} got only ${n} of 300`);
  });

  test("apply updates an object it created before, as kubectl apply does", async () => {
    const cm = (data: Record<string, string>): KubeObject =>
      ({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings" },
        data,
      }) as KubeObject;
    await c.apply([cm({ a: "1" })]);
    const [updated] = await c.apply([cm({ a: "2" })]);
    assert.deepEqual((updated as KubeObject & { data: object }).data, { a: "2" });
  });
});

describe("two clusters side by side", () => {
  test("each has its own API, DNS and objects", async () => {
    const opts = { ephemeral: true, apiPort: 0, dnsPort: 0 } as const;
    const [a, b] = await Promise.all([
      startCluster({ runtime: "process", ...opts, name: "one" }),
      startCluster({ runtime: "process", ...opts, name: "two" }),
    ]);
    try {
      assert.notEqual(a.apiUrl, b.apiUrl);
      assert.notEqual(a.dnsAddress.port, b.dnsAddress.port);
      assert.deepEqual(rangeOverlaps(a.addresses, b.addresses), [], "ranges of their own");
      await a.apply([
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "only-in-one" },
          spec: { ports: [{ port: 80 }], selector: { app: "x" } },
        },
      ]);
      const ra = resolverFor(a);
      const ip = await waitFor(
        async () => {
          const ips = await resolve4Sorted(ra, "only-in-one.default.svc.cluster.local");
          return ips[0];
        },
        { what: "only-in-one in cluster one" },
      );
      assert.ok(cidrContains(parseCidr(a.addresses.serviceCidr), ip), ip);
      assert.deepEqual(
        await resolve4Sorted(resolverFor(b), "only-in-one.default.svc.cluster.local"),
        [],
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe("a cluster on a data dir", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-cluster-test-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a start that fails on a busy port releases the data dir", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    try {
      // The holder is this process: the sentence names it, and the flag to use.
      await assert.rejects(
        startCluster({ runtime: "process", dataDir: dir, apiPort: port, dnsPort: 0 }),
        {
          name: "ClusterError",
          message: `API port ${port} on 127.0.0.1 is already in use by this process (pid ${process.pid}); stop it or choose another port with --api-port (0 picks a free one)`,
        },
      );
    } finally {
      busy.close();
    }
    const c = await startCluster({ runtime: "process", dataDir: dir, apiPort: 0, dnsPort: 0 });
    await c.stop();
  });

  test("is locked while it runs and keeps objects and Service IPs across a restart", async () => {
    const opts = { dataDir: dir, apiPort: 0, dnsPort: 0 };
    const first = await startCluster(opts);
    const ranges = first.addresses;
    let ip: string;
    try {
      const [svc] = await first.apply([
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "keep" },
          spec: { ports: [{ port: 80 }], selector: { app: "keep" } },
        },
      ]);
      ip = (svc as KubeObject & { spec: { clusterIP: string } }).spec.clusterIP;
      await assert.rejects(startCluster(opts), {
        name: "ClusterError",
        message: `data dir ${dir} is in use by a running cluster (pid ${process.pid}); stop it with \`loopkube down\``,
      });
    } finally {
      await first.stop();
    }
    const second = await startCluster(opts);
    try {
      const svc = (await second.client.get(REFS.services, "default", "keep")) as KubeObject & {
        spec: { clusterIP: string };
      };
      assert.equal(svc.spec.clusterIP, ip);
      const kube = (await second.client.get(
        REFS.services,
        "default",
        "kubernetes",
      )) as KubeObject & {
        spec: { clusterIP: string };
      };
      assert.deepEqual(second.addresses, ranges, "the data dir keeps its ranges");
      assert.equal(kube.spec.clusterIP, ranges.kubernetesServiceIP);
    } finally {
      await second.stop();
    }
  });
});

test("await using stops the cluster when its scope ends", async () => {
  let port: number;
  {
    await using c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
    });
    port = Number(new URL(c.apiUrl).port);
    assert.equal(await canConnect(port), true);
  }
  assert.equal(await canConnect(port), false);
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

test("an ephemeral cluster adds its context to the user's kubeconfig and removes it on stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-ctx-"));
  const userKubeconfig = join(dir, "config");
  try {
    const cluster = await startCluster({
      runtime: "process",
      name: "ctx",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: true,
      userKubeconfig,
    });
    assert.match(readFileSync(userKubeconfig, "utf8"), /current-context: loopkube-ctx/);
    await cluster.stop();
    assert.doesNotMatch(readFileSync(userKubeconfig, "utf8"), /loopkube-ctx/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
