/**
 * Many clusters on one machine (issue 13's acceptance): two clusters started with no range
 * options each get ranges of their own, and with real pods running in both, each one's pod IPs,
 * DNS answers (dig against each DNS server; a headless name answers only that cluster's pods),
 * ClusterIPs (kubectl against each) and ingress addresses (each from its own load balancer range,
 * reached with a Host header) are its own; stopping one leaves the other answering. A
 * cluster process killed with SIGKILL leaks no lease: the next `up` on its data dir gets its
 * ranges back. Explicit ranges that overlap a running cluster's are refused with one sentence
 * naming it. A listener that cannot bind its address fails the start (the cluster's own
 * addresses) or shows in `/readyz?verbose` (a Service's), never a silent ok.
 *
 * Other clusters (other test files, a developer's `loopkube up`) may run on this machine at the
 * same time: every address is read from the clusters themselves.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { rangeOverlaps } from "../src/api/addressplan.ts";
import { cidrContains, parseCidr } from "../src/api/cidr.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { listLeases } from "../src/cluster/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { cliEnv, runLoopkube, startUp } from "./_cli.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { HTTP_SERVER, kubeletHttpGet, NODE } from "./_kubelet.ts";

const ROOT_USER = process.getuid?.() === 0;
const NEEDS_ROOT = ROOT_USER ? false : "ports below 1024 need root";
const DIG = (process.env.PATH ?? "")
  .split(delimiter)
  .map((dir) => join(dir, "dig"))
  .find((p) => p.startsWith("/") && existsSync(p));
const NO_DIG = DIG ? false : "dig is not installed (bind9-dnsutils)";

const inRange = (cidr: string, ip: string) => cidrContains(parseCidr(cidr), ip);

/** A Deployment of the HTTP fixture, a headless Service and a ClusterIP Service over it. */
function app(name: string): KubeObject[] {
  const labels = { app: name };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: "default" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: "web",
                image: "fixture/http-server",
                command: [NODE, HTTP_SERVER],
                env: [
                  { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                ],
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: { clusterIP: "None", selector: labels, ports: [{ port: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "front", namespace: "default" },
      spec: { selector: labels, ports: [{ port: 8080, targetPort: 8080 }] },
    },
  ];
}

async function dig(c: Cluster, ...args: string[]): Promise<string[]> {
  const r = await run(DIG ?? "", [
    `@${c.dnsAddress.host}`,
    "-p",
    String(c.dnsAddress.port),
    "+short",
    "+time=2",
    "+tries=2",
    ...args,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

async function kubectl(c: Cluster, ...args: string[]): Promise<string> {
  const r = await run(KUBECTL ?? "", [
    "--kubeconfig",
    c.kubeconfigPath,
    "--cache-dir",
    join(c.dataDir, "kube-cache"),
    ...args,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function podIPsOf(c: Cluster, name: string): Promise<string[]> {
  const pods = await c.client.list(REFS.pods, "default", { labelSelector: `app=${name}` });
  return pods.items.map((p) => (p.status as { podIP?: string } | undefined)?.podIP ?? "").sort();
}

/** GET over HTTPS, trusting only `c`'s CA: another cluster's API server fails the handshake. */
function httpsGetWithCa(c: Cluster, host: string, port: number, path: string): Promise<string> {
  const ca = Buffer.from(
    /certificate-authority-data: (\S+)/.exec(c.kubeconfig)?.[1] ?? "",
    "base64",
  ).toString();
  return new Promise((resolve, reject) => {
    httpsRequest({ host, port, path, ca, timeout: 5000 }, (res) => {
      let s = "";
      res.on("data", (d) => {
        s += String(d);
      });
      res.on("end", () => resolve(`${res.statusCode} ${s}`));
    })
      .on("error", reject)
      .end();
  });
}

/** GET / with a Host header (Node's http, as a browser would ask an ingress); the body on 200. */
function hostGet(ip: string, port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: ip, port, path: "/", headers: { host }, timeout: 5000 }, (res) => {
      let s = "";
      res.on("data", (d) => {
        s += String(d);
      });
      res.on("end", () => resolve(res.statusCode === 200 ? s : undefined));
    })
      .on("error", reject)
      .end();
  });
}

describe("two clusters started with no range options, both running pods", () => {
  let a: Cluster;
  let b: Cluster;
  before(async () => {
    const options = { ephemeral: true, apiPort: 0, dnsPort: 0, updateKubeconfig: false } as const;
    const started = await Promise.allSettled([
      startCluster({ runtime: "process", ...options, name: "many-a" }),
      startCluster({ runtime: "process", ...options, name: "many-b" }),
    ]);
    const [first, second] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    if (!first || !second) {
      await Promise.all([first?.stop(), second?.stop()]);
      throw started.find((r) => r.status === "rejected")?.reason;
    }
    [a, b] = [first, second];
    await Promise.all([
      a.waitReady(await a.apply(app("web")), { timeoutMs: 60_000 }),
      b.waitReady(await b.apply(app("web")), { timeoutMs: 60_000 }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("each holds ranges of its own, and its pods' IPs come from its own pod range", async () => {
    assert.deepEqual(rangeOverlaps(a.addresses, b.addresses), []);
    const [ipsA, ipsB] = [await podIPsOf(a, "web"), await podIPsOf(b, "web")];
    assert.equal(ipsA.length, 2);
    assert.equal(ipsB.length, 2);
    assert.ok(
      ipsA.every((ip) => inRange(a.addresses.podCidr, ip)),
      ipsA.join(),
    );
    assert.ok(
      ipsB.every((ip) => inRange(b.addresses.podCidr, ip)),
      ipsB.join(),
    );
    // Each pod answers with its own name at its IP (no pod of the other cluster is there).
    for (const [c, ips] of [
      [a, ipsA],
      [b, ipsB],
    ] as const) {
      const names = (await c.client.list(REFS.pods, "default")).items.map((p) => p.metadata.name);
      for (const ip of ips) {
        const r = await kubeletHttpGet(ip, 8080);
        assert.ok(names.includes(r.body), `${ip} answered ${r.body}`);
      }
    }
  });

  test("dig against each cluster's DNS: the headless name answers only its own pods", {
    skip: NO_DIG,
  }, async () => {
    for (const c of [a, b]) {
      assert.deepEqual(await dig(c, "web.default.svc.cluster.local"), await podIPsOf(c, "web"));
      assert.deepEqual(await dig(c, "kubernetes.default.svc.cluster.local"), [
        c.addresses.kubernetesServiceIP,
      ]);
    }
  });

  test("kubectl against each shows ClusterIPs from its own service range, reaching its own pods", {
    skip: NO_KUBECTL,
  }, async () => {
    for (const c of [a, b]) {
      const ip = await kubectl(c, "get", "svc", "front", "-o", "jsonpath={.spec.clusterIP}");
      assert.ok(inRange(c.addresses.serviceCidr, ip), `${ip} in ${c.addresses.serviceCidr}`);
      const dns = await kubectl(
        c,
        "get",
        "svc",
        "kube-dns",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.spec.clusterIP}",
      );
      assert.equal(dns, c.addresses.dnsServiceIP);
      const names = (await c.client.list(REFS.pods, "default")).items.map((p) => p.metadata.name);
      const answer = await waitFor(
        async () => (await kubeletHttpGet(ip, 8080).catch(() => undefined))?.body,
        { what: `${ip}:8080 to answer`, retryErrors: true },
      );
      assert.ok(names.includes(answer), `${ip} answered ${answer}, not a pod of its cluster`);
    }
  });

  test("each cluster's kubernetes and kube-dns ClusterIPs reach its own API and DNS servers", {
    skip: NEEDS_ROOT || NO_DIG,
  }, async () => {
    for (const c of [a, b]) {
      // Only this cluster's CA is trusted: the other's API server would fail the handshake.
      assert.equal(
        await waitFor(
          () =>
            httpsGetWithCa(c, c.addresses.kubernetesServiceIP, 443, "/readyz").catch(
              () => undefined,
            ),
          { what: `${c.name}'s kubernetes Service`, retryErrors: true },
        ),
        "200 ok",
      );
      const r = await run(DIG ?? "", [
        `@${c.addresses.dnsServiceIP}`,
        "+short",
        "+time=2",
        "web.default.svc.cluster.local",
      ]);
      assert.deepEqual(r.stdout.split("\n").filter(Boolean).sort(), await podIPsOf(c, "web"));
    }
  });

  test("each cluster's ingress controller serves its own Ingresses from its own load balancer range", async () => {
    const seen: string[] = [];
    for (const c of [a, b]) {
      await c.apply([
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "front", namespace: "default" },
          spec: {
            rules: [
              {
                host: "front.example.com",
                http: {
                  paths: [
                    {
                      path: "/",
                      pathType: "Prefix",
                      backend: { service: { name: "front", port: { number: 8080 } } },
                    },
                  ],
                },
              },
            ],
          },
        } as KubeObject,
      ]);
      const point = await waitFor(
        async () => {
          const ing = await c.client.get(REFS.ingresses, "default", "front");
          const status = ing.status as
            | { loadBalancer?: { ingress?: { ip: string; ports?: { port: number }[] }[] } }
            | undefined;
          return status?.loadBalancer?.ingress?.[0];
        },
        { what: `${c.name}'s Ingress to get an address` },
      );
      assert.ok(inRange(c.addresses.loadBalancerCidr, point.ip), `${point.ip} of ${c.name}`);
      seen.push(point.ip);
      const names = (await c.client.list(REFS.pods, "default")).items.map((p) => p.metadata.name);
      const port = point.ports?.[0]?.port ?? 80;
      const answer = await waitFor(() => hostGet(point.ip, port, "front.example.com"), {
        what: `${c.name}'s ingress to answer for front.example.com`,
        retryErrors: true,
      });
      assert.ok(names.includes(answer), `${point.ip} answered ${answer}, not a pod of ${c.name}`);
    }
    assert.notEqual(seen[0], seen[1]);
  });

  test("stopping one leaves the other answering", { skip: NO_DIG }, async () => {
    const ipsB = await podIPsOf(b, "web");
    const front = (await b.client.get(REFS.services, "default", "front")) as KubeObject & {
      spec: { clusterIP: string };
    };
    await a.stop();
    assert.deepEqual(await dig(b, "web.default.svc.cluster.local"), ipsB);
    const body = (await kubeletHttpGet(front.spec.clusterIP, 8080)).body;
    assert.match(body, /^web-/);
    assert.equal(
      listLeases().some((l) => l.name === "many-a" && l.pid === process.pid),
      false,
    );
  });
});

describe("a cluster process killed with SIGKILL", () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), "loopkube-many-"));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  const ranges = (text: string) =>
    ["pods", "services", "LB ingress", "node IP"].map(
      (label) => new RegExp(`^  ${label}: +(\\S+)`, "m").exec(text)?.[1],
    );

  test("leaks no lease, and the next up on its data dir gets its ranges back", async () => {
    const dataDir = join(home, "cluster");
    const args = ["--data-dir", dataDir, "--api-port", "0", "--dns-port", "0"];
    const upArgs = [...args, "--no-kubeconfig-update"];
    const first = await startUp(upArgs, /Press Ctrl-C to stop\.\n/, cliEnv(home));
    const exited = new Promise((r) => first.child.once("exit", r));
    const held = ranges(first.out());
    assert.ok(
      held.every((r) => r !== undefined),
      first.out(),
    );
    const pid = first.child.pid ?? 0;
    assert.ok(listLeases().some((l) => l.pid === pid && l.dataDir === dataDir));
    first.child.kill("SIGKILL");
    await exited;
    // The dead process's lease is no longer counted (and its file is removed on the way).
    assert.equal(
      listLeases().some((l) => l.pid === pid),
      false,
    );
    const second = await startUp(upArgs, /Press Ctrl-C to stop\.\n/, cliEnv(home));
    try {
      assert.deepEqual(ranges(second.out()), held, second.out());
      const status = await runLoopkube(["status", ...args.slice(0, 2)], cliEnv(home));
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(ranges(status.stdout), held, status.stdout);
    } finally {
      const gone = new Promise((r) => second.child.once("exit", r));
      second.child.kill("SIGTERM");
      await gone;
    }
  });
});

describe("explicit ranges", () => {
  test("that overlap a running cluster's are refused with one sentence naming it", async () => {
    const home = mkdtempSync(join(tmpdir(), "loopkube-many-"));
    const dataDir = join(home, "first");
    const first = await startCluster({
      runtime: "process",
      name: "first",
      dataDir,
      apiPort: 0,
      dnsPort: 0,
    });
    try {
      const pods = first.addresses.podCidr;
      const sentence = `the pod CIDR ${pods} overlaps the pod CIDR ${pods} of cluster "first" (pid ${process.pid}, data dir ${dataDir}), which is running; choose another with --pod-cidr or leave it out to get a free one`;
      await assert.rejects(
        startCluster({
          runtime: "process",
          ephemeral: true,
          apiPort: 0,
          dnsPort: 0,
          podCidr: pods,
        }),
        { name: "ClusterError", message: sentence },
      );
      const r = await runLoopkube(
        ["up", "--ephemeral", "--api-port", "0", "--dns-port", "0", "--pod-cidr", pods],
        cliEnv(home),
      );
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `loopkube: ${sentence}\n`);
      // `list` finds it through the registry, its data dir being outside the default base.
      const list = await runLoopkube(["list", "-o", "json"], cliEnv(home));
      assert.equal(list.code, 0, list.stderr);
      const item = (
        JSON.parse(list.stdout) as { items: Array<Record<string, unknown>> }
      ).items.find((i) => i.dataDir === dataDir);
      assert.deepEqual(
        [item?.name, item?.state, item?.podCidr, item?.serviceCidr],
        ["first", "running", pods, first.addresses.serviceCidr],
      );
    } finally {
      await first.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("a listener that cannot bind its address", () => {
  // A range no automatic slot uses (slots take services from 127.96/16 upward, pods from
  // 127.196/16 upward): nobody else's cluster holds these addresses.
  const octet = 1 + Math.floor(Math.random() * 250);
  const serviceCidr = `127.90.${octet}.0/24`;

  const hold = async (host: string, port: number): Promise<Server> => {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  };

  test("fails the start when it is the cluster's own kubernetes Service address", {
    skip: NEEDS_ROOT,
  }, async () => {
    const kubernetesIP = `127.90.${octet}.1`;
    const squatter = await hold(kubernetesIP, 443);
    try {
      await assert.rejects(
        startCluster({ runtime: "process", ephemeral: true, apiPort: 0, dnsPort: 0, serviceCidr }),
        {
          name: "ClusterError",
          message: `the default/kubernetes Service's address ${kubernetesIP}:443/TCP is already in use by this process (pid ${process.pid}); another cluster may be using the service range ${serviceCidr}: stop it, or give this cluster another range with --service-cidr`,
        },
      );
    } finally {
      squatter.close();
    }
    assert.equal(
      listLeases().some((l) => l.ranges.serviceCidr === serviceCidr),
      false,
      "the failed start released its ranges",
    );
  });

  test("refuses a DNS port asked for and taken, naming its holder and --dns-port", async () => {
    const taken = createSocket("udp4");
    await new Promise<void>((r) => taken.bind(0, "127.0.0.1", r));
    const port = taken.address().port;
    try {
      await assert.rejects(
        startCluster({ runtime: "process", ephemeral: true, apiPort: 0, dnsPort: port }),
        {
          name: "ClusterError",
          message: `DNS port ${port} on 127.0.0.1 is already in use by this process (pid ${process.pid}); stop it or choose another port with --dns-port (0 picks a free one)`,
        },
      );
    } finally {
      taken.close();
    }
  });

  test("shows in /readyz?verbose while a Service's address is held, and heals when freed", async () => {
    const c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      serviceCidr,
      updateKubeconfig: false,
    });
    const externalIP = `127.90.${octet}.200`;
    const squatter = await hold(externalIP, 18080);
    try {
      await c.apply([
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "held", namespace: "default" },
          spec: { selector: { app: "none" }, ports: [{ port: 18080 }], externalIPs: [externalIP] },
        },
      ]);
      const readyz = () =>
        httpsGetWithCa(c, "127.0.0.1", Number(new URL(c.apiUrl).port), "/readyz?verbose");
      const failing = await waitFor(
        async () => {
          const body = await readyz();
          return body.includes("[-]proxy failed") ? body : undefined;
        },
        { what: "the proxy to report the held address", retryErrors: true },
      );
      assert.match(failing, /^500 /);
      assert.match(
        failing,
        new RegExp(
          `\\[-\\]proxy failed: default/held: cannot listen on TCP ${externalIP.replaceAll(".", "\\.")}:18080: EADDRINUSE`,
        ),
      );
      assert.equal(c.status().find((s) => s.name === "proxy")?.ready, false);
      const events = (await c.client.list(REFS.events, "default")).items as Array<
        KubeObject & { reason?: string; involvedObject?: { name?: string } }
      >;
      assert.ok(
        events.some((e) => e.involvedObject?.name === "held" && e.reason === "ListenFailed"),
        "a ListenFailed event is recorded on the Service",
      );
      squatter.close();
      // The proxy tries failed listeners again every 10 s.
      const healed = await waitFor(
        async () => {
          const body = await readyz();
          return body.startsWith("200 ") ? body : undefined;
        },
        { what: "readyz to pass once the address is free", timeoutMs: 30_000, retryErrors: true },
      );
      assert.match(healed, /\[\+\]proxy ok/);
    } finally {
      squatter.close();
      await c.stop();
    }
  });
});
