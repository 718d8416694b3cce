/**
 * NetworkPolicy enforced with nftables on the pods' veths (issue 17, `podNetwork: "netns"`, as
 * root), end to end with the real kubectl: connections are made from inside pods with
 * `kubectl exec`, policies written with `kubectl apply`. Default deny, podSelector,
 * namespaceSelector, ipBlock with except, named ports, egress with the DNS rule users write,
 * a ClusterIP judged by its endpoints, the node always reaching its pods, a Warning event for a
 * hostNetwork pod a policy selects, and the table gone after stop (and a dead cluster's table
 * removed at start). Without root (pods sharing the host's namespace) only the last suite runs:
 * the Warning event a selected pod gets there.
 *
 * Network safety: every destination is checked first with `ip route get` inside the sending pod
 * (it leaves on the pod's `eth0`, which leads only to the host) or on the host (a pod IP through
 * a link of this cluster).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const NODE = process.execPath;
const REGISTRY = "/run/loopkube-podnet";
const SKIP =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "NetworkPolicy enforcement needs root on Linux: run as root to test it"
    : spawnSync("ip", ["-V"]).status !== 0
      ? "iproute2 (ip) is not installed"
      : spawnSync("nft", ["--version"]).status !== 0
        ? "nftables (nft) is not installed"
        : NO_KUBECTL;
if (SKIP) console.log(`# network-policy.test.ts skipped: ${SKIP}`);

const SERVER = `require("http").createServer((q,s)=>s.end(process.env.POD_NAME)).listen(8080,"0.0.0.0")`;
const IDLE = "setInterval(() => {}, 1e9)";

const pod = (ns: string, name: string, labels: Record<string, string>, server: boolean) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels },
  spec: {
    containers: [
      {
        name: "main",
        image: "node",
        command: [NODE, "-e", server ? SERVER : IDLE],
        env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        ...(server
          ? {
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            }
          : {}),
      },
    ],
  },
});

const MANIFESTS = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "prod", labels: { env: "prod" } } },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } },
  pod("prod", "db", { app: "db" }, true),
  pod("prod", "web", { app: "web" }, false),
  pod("dev", "other", { app: "web" }, false),
  {
    ...pod("prod", "on-host", { app: "db" }, false),
    spec: { ...pod("prod", "on-host", {}, false).spec, hostNetwork: true },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "db", namespace: "prod" },
    spec: { selector: { app: "db" }, ports: [{ port: 80, targetPort: "http" }] },
  },
];

/** A Node program run in a pod: prints what `GET http://host:port/` answers, or the error. */
const inPodFetch = (host: string, port: number) =>
  `require("http").get({host:${JSON.stringify(host)},port:${port},agent:false,timeout:3000},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>console.log(b))}).on("timeout",function(){this.destroy(Object.assign(new Error(),{code:"TIMEOUT"}))}).on("error",e=>console.log("error "+e.code))`;

const lookup = (name: string) =>
  `require("dns").promises.lookup(${JSON.stringify(name)}).then(a=>console.log(a.address),e=>console.log("error "+e.code))`;

describe("NetworkPolicy enforced with nftables", { skip: SKIP }, () => {
  let cluster: Cluster;
  let tag = "";
  const ips: Record<string, string> = {};
  let clusterIP = "";
  const deadTag = "fffd";

  const kubectl = (args: string[], input?: string) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", cluster.kubeconfigPath, ...args], {
      ...(input !== undefined ? { input } : {}),
    });
  const apply = async (objects: unknown[]) => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({ kind: "List", apiVersion: "v1", items: objects }),
    );
    assert.equal(r.code, 0, r.stderr);
  };
  const policy = (name: string, spec: unknown) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "prod" },
    spec,
  });
  const exec = async (ns: string, name: string, script: string) => {
    const r = await kubectl(["exec", "-n", ns, name, "--", NODE, "-e", script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** `GET` from inside a pod, after `ip route get` shows it leaves on the pod's eth0. */
  const fetchFrom = async (ns: string, name: string, host: string, port: number) => {
    const r = await kubectl(["exec", "-n", ns, name, "--", "ip", "-o", "route", "get", host]);
    assert.equal(/ dev (\S+)/.exec(r.stdout)?.[1], "eth0", `${host} leaves ${name} on eth0`);
    return exec(ns, name, inPodFetch(host, port));
  };
  /** Waits until a connection from the pod answers `want` (a policy change is in the kernel). */
  const expect = (ns: string, name: string, host: string, port: number, want: RegExp) =>
    waitFor(
      async () => {
        const got = await fetchFrom(ns, name, host, port);
        return want.test(got) ? got : undefined;
      },
      { what: `${name} → ${host}:${port} to answer ${want}`, timeoutMs: 20_000 },
    );
  const REFUSED = /^error (EHOSTUNREACH|TIMEOUT)$/;

  before(async () => {
    // A dead cluster's table: an owner file naming a process that has exited.
    const gone = spawnSync("true").pid;
    mkdirSync(REGISTRY, { recursive: true });
    writeFileSync(
      `${REGISTRY}/${deadTag}`,
      JSON.stringify({ pid: gone, startTime: "1", podCidr: "127.255.253.0/24", dataDir: "-" }),
    );
    execFileSync("nft", ["add", "table", "ip", `loopkube-${deadTag}`]);

    cluster = await startCluster({
      runtime: "process",
      name: "netpol",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      podNetwork: "netns",
    });
    await apply(MANIFESTS);
    await waitFor(
      async () => {
        for (const [ns, name] of [
          ["prod", "db"],
          ["prod", "web"],
          ["dev", "other"],
        ] as const) {
          const p = (await cluster.client.get(REFS.pods, ns, name)) as Pod;
          const ready = p.status?.conditions?.some(
            (c) => c.type === "Ready" && c.status === "True",
          );
          if (!ready || !p.status?.podIP) return undefined;
          ips[name] = p.status.podIP;
        }
        return true;
      },
      { what: "db, web and other Ready", timeoutMs: 60_000 },
    );
    clusterIP = ((await cluster.client.get(REFS.services, "prod", "db")) as Service).spec
      ?.clusterIP as string;
    tag = /^lk([0-9a-f]{4})/.exec(await routeDevice(ips.db ?? ""))?.[1] ?? "";
    assert.ok(tag, "db is reached through a link of this cluster");
  });

  after(async () => {
    await cluster?.stop();
    spawnSync("nft", ["delete", "table", "ip", `loopkube-${deadTag}`]);
    if (existsSync(`${REGISTRY}/${deadTag}`)) unlinkSync(`${REGISTRY}/${deadTag}`);
  });

  const tables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });

  test("a dead cluster's table is removed when a cluster starts; none is made without policies", () => {
    assert.doesNotMatch(tables(), new RegExp(`loopkube-${deadTag}(?![\\w-])`));
    assert.doesNotMatch(tables(), new RegExp(`loopkube-${tag}(?![\\w-])`));
  });

  test("without a policy every pod reaches db", async () => {
    assert.equal(await fetchFrom("prod", "web", ips.db ?? "", 8080), "db");
    assert.equal(await fetchFrom("dev", "other", ips.db ?? "", 8080), "db");
  });

  test("default deny ingress: pods are refused, the node still reaches db", async () => {
    await apply([policy("deny", { podSelector: {} })]);
    await expect("prod", "web", ips.db ?? "", 8080, REFUSED);
    await expect("dev", "other", ips.db ?? "", 8080, REFUSED);
    assert.match(await routeDevice(ips.db ?? ""), new RegExp(`^lk${tag}`));
    assert.equal(await fetchHost(ips.db ?? "", 8080), "db");
    assert.match(tables(), new RegExp(`table ip loopkube-${tag}(?![\\w-])`));
  });

  test("a hostNetwork pod the policy selects gets a Warning event", async () => {
    await waitFor(
      async () => {
        const r = await kubectl([
          "get",
          "events",
          "-n",
          "prod",
          "--field-selector",
          "involvedObject.name=on-host",
          "-o",
          "json",
        ]);
        const items = JSON.parse(r.stdout || "{}").items ?? [];
        return items.find(
          (e: { type?: string; reason?: string; message?: string }) =>
            e.type === "Warning" &&
            e.reason === "NetworkPolicyNotApplied" &&
            /deny/.test(e.message ?? ""),
        );
      },
      { what: "a NetworkPolicyNotApplied event for on-host" },
    );
  });

  test("podSelector on a named port lets web in, not dev's pod; a namespaceSelector adds it", async () => {
    await apply([
      policy("from-web", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: "http" }] },
        ],
      }),
    ]);
    await expect("prod", "web", ips.db ?? "", 8080, /^db$/);
    assert.match(await fetchFrom("dev", "other", ips.db ?? "", 8080), REFUSED);
    await apply([
      policy("from-dev", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dev" } } },
            ],
          },
        ],
      }),
    ]);
    await expect("dev", "other", ips.db ?? "", 8080, /^db$/);
  });

  test("an ipBlock with an except", async () => {
    const r = await kubectl(["delete", "networkpolicy", "-n", "prod", "from-web", "from-dev"]);
    assert.equal(r.code, 0, r.stderr);
    await expect("prod", "web", ips.db ?? "", 8080, REFUSED);
    await apply([
      policy("block", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ ipBlock: { cidr: "127.0.0.0/8", except: [`${ips.other}/32`] } }] }],
      }),
    ]);
    await expect("prod", "web", ips.db ?? "", 8080, /^db$/);
    assert.match(await fetchFrom("dev", "other", ips.db ?? "", 8080), REFUSED);
  });

  test("egress: default deny, the DNS rule users write, then db by pod and by ClusterIP", async () => {
    await apply([
      policy("egress", {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": "kube-system" },
                },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { port: 53, protocol: "UDP" },
              { port: 53, protocol: "TCP" },
            ],
          },
        ],
      }),
    ]);
    await expect("prod", "web", ips.db ?? "", 8080, REFUSED);
    assert.match(await fetchFrom("prod", "web", clusterIP, 80), REFUSED);
    assert.equal(await exec("prod", "web", lookup("db.prod.svc.cluster.local")), clusterIP);
    await apply([
      policy("egress-db", {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Egress"],
        egress: [
          { to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: 8080 }] },
        ],
      }),
    ]);
    await expect("prod", "web", ips.db ?? "", 8080, /^db$/);
    await expect("prod", "web", clusterIP, 80, /^db$/);
  });

  test("a new pod a policy selects is isolated from its first connection", async () => {
    await apply([
      policy("blocked", {
        podSelector: { matchLabels: { app: "blocked" } },
        policyTypes: ["Egress"],
      }),
    ]);
    const early = pod("prod", "early", { app: "blocked" }, false);
    early.spec.containers[0] = {
      ...early.spec.containers[0],
      command: [NODE, "-e", `${inPodFetch(ips.db ?? "", 8080)};setInterval(()=>{},1e9)`],
    } as (typeof early.spec.containers)[0];
    await apply([early]);
    const log = await waitFor(
      async () => {
        const r = await kubectl(["logs", "-n", "prod", "early"]);
        return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
      },
      { what: "early's first connection logged", timeoutMs: 30_000, retryErrors: true },
    );
    assert.match(log, REFUSED);
  });

  test("stop deletes the cluster's table", async () => {
    await cluster.stop();
    assert.doesNotMatch(tables(), new RegExp(`loopkube-${tag}(?![\\w-])`));
  });
});

describe("NetworkPolicy where pods share the host's network namespace", () => {
  test("a pod a policy selects gets a Warning event saying the policy cannot apply", async () => {
    const cluster = await startCluster({
      runtime: "process",
      name: "netpol-host",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      podNetwork: "host",
    });
    try {
      await cluster.client.create(
        REFS.pods,
        "default",
        pod("default", "shared", { app: "x" }, false),
      );
      await cluster.client.create(REFS.networkpolicies, "default", {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "deny-x" },
        spec: { podSelector: { matchLabels: { app: "x" } } },
      });
      const event = await waitFor(
        async () =>
          (await cluster.client.list(REFS.events, "default")).items.find(
            (e) =>
              (e as { involvedObject?: { name?: string } }).involvedObject?.name === "shared" &&
              e.reason === "NetworkPolicyNotApplied",
          ),
        { what: "a NetworkPolicyNotApplied event for the pod", timeoutMs: 30_000 },
      );
      assert.equal(event.type, "Warning");
      assert.match(
        String(event.message),
        /^NetworkPolicy deny-x selects this pod but cannot apply to it: pods share the host's network namespace/,
      );
    } finally {
      await cluster.stop();
    }
  });
});

function fetchHost(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host, port, path: "/", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error(`timed out fetching ${host}:${port}`)));
    req.on("error", reject);
  });
}
