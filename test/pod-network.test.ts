/**
 * Pods in their own network namespaces (issue 17, `podNetwork: "netns"`, as root), end to end
 * with kubectl and Node's HTTP client: two replicas binding 0.0.0.0:8080 both serve at their pod
 * IPs and through their ClusterIP; containers of a pod share 127.0.0.1 and other pods cannot reach
 * it; from inside a pod other pods, ClusterIPs (also the pod's own Service) and the cluster DNS
 * answer; kubectl port-forward reaches the pod's own 127.0.0.1; hostNetwork pods share the host's namespace; nothing is left after stop, and a dead
 * cluster's leftovers are removed at the next start (a made-up dead owner, and a real
 * `loopkube up --proxy-mode nftables` killed with SIGKILL, whose pod comes back on its IP and
 * whose nftables table is removed; Ctrl-C leaves nothing).
 *
 * Network safety: before anything is sent to an address, `ip route get` shows where it goes: a
 * pod IP through a link of this cluster (`lk<tag>…`), a ClusterIP to `lo`, and from inside a pod
 * every 127.x address through the pod's `eth0` (which leads only to the host).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { createHttpClient, loadKubeconfig } from "../src/client/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { cliEnv, startUp } from "./_cli.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const NODE = process.execPath;
const REGISTRY = "/run/loopkube-podnet";
const SKIP =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "pod network namespaces need root on Linux: run as root to test them"
    : spawnSync("ip", ["-V"]).status !== 0
      ? "iproute2 (ip) is not installed"
      : NO_KUBECTL;
if (SKIP) console.log(`# pod-network.test.ts skipped: ${SKIP}`);

/** A server on 0.0.0.0:$PORT answering $POD_NAME (or $REPLY). */
const SERVER = `require("http").createServer((q,s)=>s.end(process.env.REPLY||process.env.POD_NAME)).listen(+process.env.PORT,process.env.BIND||"0.0.0.0")`;

const podEnv = [
  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  { name: "PORT", value: "8080" },
];

const manifests: KubeObject[] = [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "node",
              command: [NODE, "-e", SERVER],
              env: podEnv,
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web-peers" },
    spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ port: 8080 }] },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "duo", labels: { app: "duo" } },
    spec: {
      containers: [
        {
          name: "app",
          image: "node",
          command: [NODE, "-e", SERVER],
          env: [
            { name: "PORT", value: "9090" },
            { name: "BIND", value: "127.0.0.1" },
            { name: "REPLY", value: "app on the pod's loopback" },
          ],
        },
        { name: "sidecar", image: "node", command: [NODE, "-e", "setInterval(() => {}, 1e9)"] },
      ],
    },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "on-host" },
    spec: {
      hostNetwork: true,
      containers: [
        { name: "idle", image: "node", command: [NODE, "-e", "setInterval(() => {}, 1e9)"] },
      ],
    },
  },
];

function fetchText(host: string, port: number): Promise<string> {
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

/** A Node program run in a pod by `kubectl exec`: prints what `GET http://host:port/` answers. */
const inPodFetch = (host: string, port: number) =>
  `require("http").get({host:${JSON.stringify(host)},port:${port},agent:false},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>console.log(b))}).on("error",e=>{console.log("error "+e.code);})`;

/** The machine's loopkube pod network names (namespaces, host links) carrying a tag. */
function namesOf(tag: string): string[] {
  const ns = readdirSync("/run/netns").filter((n) => n.startsWith(`loopkube-${tag}-`));
  const links = readdirSync("/sys/class/net").filter((l) => l.startsWith(`lk${tag}`));
  return [...ns, ...links];
}

/** The cluster's nftables tables (`loopkube-<tag>`, `loopkube-<tag>-svc`); none without nft. */
function tablesOf(tag: string): string[] {
  const r = spawnSync("nft", ["list", "tables"], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return r.stdout
    .split("\n")
    .filter((l) => new RegExp(`^table ip loopkube-${tag}(-svc)?$`).test(l));
}
const HAS_NFT = spawnSync("nft", ["--version"]).status === 0;

describe("pods in their own network namespaces", { skip: SKIP }, () => {
  let cluster: Cluster;
  let pods: Pod[] = [];
  let clusterIP = "";
  let tag = "";
  /** A leftover of a "dead cluster", made before ours starts. */
  const deadTag = "fffe";
  const deadNs = `loopkube-${deadTag}-127.255.254.2`;

  const kubectl = (args: string[]) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", cluster.kubeconfigPath, ...args]);
  const exec = async (pod: string, container: string, script: string) => {
    const r = await kubectl(["exec", pod, "-c", container, "--", NODE, "-e", script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** `ip route get` inside the pod (through kubectl exec): the device the pod sends `ip` on. */
  const podRoute = async (pod: string, ip: string) => {
    const r = await kubectl(["exec", pod, "--", "ip", "-o", "route", "get", ip]);
    assert.equal(r.code, 0, r.stderr);
    return / dev (\S+)/.exec(r.stdout)?.[1];
  };

  before(async () => {
    // A dead cluster's leftovers: an owner file naming a process that has exited, and its netns.
    const gone = spawnSync("true").pid;
    mkdirSync(REGISTRY, { recursive: true });
    writeFileSync(
      `${REGISTRY}/${deadTag}`,
      JSON.stringify({ pid: gone, startTime: "1", podCidr: "127.255.254.0/24", dataDir: "-" }),
    );
    execFileSync("ip", ["netns", "add", deadNs]);

    cluster = await startCluster({
      runtime: "process",
      name: "podnet",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      podNetwork: "netns",
    });
    for (const m of manifests) {
      const ref =
        m.kind === "Deployment" ? REFS.deployments : m.kind === "Pod" ? REFS.pods : REFS.services;
      await cluster.client.create(ref, "default", m);
    }
    pods = await waitFor(
      async () => {
        const list = (await cluster.client.list(REFS.pods, "default")).items as Pod[];
        const ready = list.filter((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === 4 ? ready : undefined;
      },
      { what: "four pods Ready", timeoutMs: 60_000 },
    );
    clusterIP = ((await cluster.client.get(REFS.services, "default", "web")) as Service).spec
      ?.clusterIP as string;
    const web = pods.find((p) => p.metadata?.labels?.app === "web");
    const ns = readdirSync("/run/netns").find((n) => n.endsWith(`-${web?.status?.podIP}`));
    tag = /^loopkube-([0-9a-f]{4})-/.exec(ns ?? "")?.[1] ?? "";
    assert.ok(tag, `a namespace named for ${web?.status?.podIP} exists`);
  });

  after(async () => {
    await cluster?.stop();
    if (existsSync(`/run/netns/${deadNs}`)) execFileSync("ip", ["netns", "del", deadNs]);
    if (existsSync(`${REGISTRY}/${deadTag}`)) unlinkSync(`${REGISTRY}/${deadTag}`);
  });

  const webPods = () => pods.filter((p) => p.metadata?.labels?.app === "web");

  test("a dead cluster's leftovers are removed when a cluster starts", () => {
    assert.equal(existsSync(`/run/netns/${deadNs}`), false);
    assert.equal(existsSync(`${REGISTRY}/${deadTag}`), false);
  });

  test("two replicas binding 0.0.0.0:8080 both answer at their own pod IPs and via the ClusterIP", async () => {
    const names = new Set<string>();
    for (const p of webPods()) {
      const ip = p.status?.podIP ?? "";
      assert.match(await routeDevice(ip), new RegExp(`^lk${tag}`), `${ip} is routed to our link`);
      assert.equal(await fetchText(ip, 8080), p.metadata?.name);
      names.add(p.metadata?.name ?? "");
    }
    assert.equal(names.size, 2);
    assert.equal(await routeDevice(clusterIP), "lo");
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++) seen.add(await fetchText(clusterIP, 80));
    assert.deepEqual([...seen].sort(), [...names].sort());
  });

  test("containers of a pod share 127.0.0.1; another pod and the host cannot reach it", async () => {
    assert.equal(await podRoute("duo", "127.0.0.1"), "lo");
    assert.equal(
      await exec("duo", "sidecar", inPodFetch("127.0.0.1", 9090)),
      "app on the pod's loopback",
    );
    const other = webPods()[0]?.metadata?.name ?? "";
    assert.equal(await podRoute(other, "127.0.0.1"), "lo");
    assert.equal(await exec(other, "web", inPodFetch("127.0.0.1", 9090)), "error ECONNREFUSED");
    const duoIP = pods.find((p) => p.metadata?.name === "duo")?.status?.podIP ?? "";
    assert.match(await routeDevice(duoIP), new RegExp(`^lk${tag}`));
    await assert.rejects(fetchText(duoIP, 9090), /ECONNREFUSED/);
  });

  test("from inside a pod, other pods, ClusterIPs, its own Service and the cluster DNS answer", async () => {
    const [a, b] = webPods();
    const from = a?.metadata?.name ?? "";
    const bIP = b?.status?.podIP ?? "";
    for (const ip of [bIP, clusterIP, cluster.addresses.dnsServiceIP]) {
      assert.equal(await podRoute(from, ip), "eth0", `${ip} leaves the pod on eth0`);
    }
    assert.equal(await exec(from, "web", inPodFetch(bIP, 8080)), b?.metadata?.name);
    // The pod's own Service (hairpin): both replicas, this one among them, answer.
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++) {
      seen.add(await exec(from, "web", inPodFetch(clusterIP, 80)));
    }
    assert.deepEqual(
      [...seen].sort(),
      webPods()
        .map((p) => p.metadata?.name)
        .sort(),
    );
    // Names through the pod's resolv.conf (search path, the kube-dns ClusterIP).
    const lookup = (name: string) =>
      `require("dns").promises.lookup(${JSON.stringify(name)},{all:true}).then(a=>console.log(a.map(x=>x.address).sort().join(" ")),e=>console.log("error "+e.code))`;
    assert.equal(await exec(from, "web", lookup("web")), clusterIP);
    assert.equal(
      await exec(from, "web", lookup("web-peers.default.svc.cluster.local")),
      webPods()
        .map((p) => p.status?.podIP)
        .sort()
        .join(" "),
    );
  });

  test("kubectl port-forward reaches a server bound to the pod's own 127.0.0.1", async () => {
    const child = spawn(KUBECTL ?? "kubectl", [
      ...["--kubeconfig", cluster.kubeconfigPath, "port-forward", "pod/duo", ":9090"],
    ]);
    try {
      let out = "";
      child.stdout.on("data", (d) => {
        out += String(d);
      });
      const port = await waitFor(
        () => Number(/127\.0\.0\.1:(\d+) ->/.exec(out)?.[1]) || undefined,
        {
          what: "kubectl port-forward to listen",
        },
      );
      assert.equal(await routeDevice("127.0.0.1"), "lo");
      assert.equal(await fetchText("127.0.0.1", port), "app on the pod's loopback");
    } finally {
      child.kill();
    }
  });

  test("a hostNetwork pod shares the host's network namespace; the others do not", async () => {
    const hostNs = readlinkSync("/proc/self/ns/net");
    const nsOf = (pod: string) =>
      exec(
        pod,
        pod === "on-host" ? "idle" : "web",
        `console.log(require("fs").readlinkSync("/proc/self/ns/net"))`,
      );
    const onHost = pods.find((p) => p.metadata?.name === "on-host");
    assert.equal(onHost?.status?.podIP, cluster.addresses.nodeIP);
    assert.equal(await nsOf("on-host"), hostNs);
    assert.notEqual(await nsOf(webPods()[0]?.metadata?.name ?? ""), hostNs);
  });

  test("stop removes every namespace, link and route of the cluster", async () => {
    const ips = pods.filter((p) => !p.spec?.hostNetwork).map((p) => p.status?.podIP ?? "");
    assert.ok(namesOf(tag).length >= 6, "a namespace and a link per pod while running");
    await cluster.stop();
    assert.deepEqual(namesOf(tag), []);
    assert.equal(existsSync(`${REGISTRY}/${tag}`), false);
    for (const ip of ips) assert.equal(await routeDevice(ip), "lo");
  });
});

describe("pod networks after kill -9 and Ctrl-C of loopkube up", { skip: SKIP }, () => {
  test("kill -9 leaves names that the next up removes, the pod keeps its IP, and Ctrl-C leaves nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "loopkube-podnet-"));
    const clusterDir = join(home, "cluster");
    const manifest = join(home, "pod.json");
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "survivor", namespace: "default" },
        spec: { containers: [{ name: "app", image: "sh", command: ["sleep", "3600"] }] },
      }),
    );
    const args = [
      ...["--data-dir", clusterDir, "--api-port", "0", "--dns-port", "0"],
      ...["--pod-network", "netns", "--proxy-mode", "nftables", "--no-kubeconfig-update"],
    ];
    const up = (extra: string[]) =>
      startUp([...args, ...extra], /Press Ctrl-C to stop\.\n/, cliEnv(home));
    const client = () =>
      createHttpClient(loadKubeconfig(readFileSync(join(clusterDir, "kubeconfig"), "utf8")));
    /** The running pod's IP and the tag of the namespace holding it. */
    const running = (notContainer?: string) =>
      waitFor(
        async () => {
          const p = (await client().get(REFS.pods, "default", "survivor")) as KubeObject & Pod;
          const s = p.status?.containerStatuses?.[0];
          const ip = p.status?.podIP;
          if (!s?.state?.running || s.containerID === notContainer || !ip) return undefined;
          const ns = readdirSync("/run/netns").find((n) => n.endsWith(`-${ip}`));
          const tag = /^loopkube-([0-9a-f]{4})-/.exec(ns ?? "")?.[1];
          return tag ? { ip, tag, containerID: s.containerID } : undefined;
        },
        { what: "survivor running in its namespace", timeoutMs: 60_000, retryErrors: true },
      );
    let { child } = await up(["-f", manifest]);
    try {
      const first = await running();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      assert.ok(namesOf(first.tag).length >= 2, "kill -9 leaves the namespace and link behind");
      if (HAS_NFT) {
        assert.equal(tablesOf(first.tag).length, 1, "and the kernel services table");
      }
      ({ child } = await up([]));
      const second = await running(first.containerID);
      assert.equal(second.ip, first.ip, "the pod keeps its IP");
      if (second.tag !== first.tag) {
        assert.deepEqual(namesOf(first.tag), []);
        assert.deepEqual(tablesOf(first.tag), []);
        assert.equal(existsSync(`${REGISTRY}/${first.tag}`), false);
      } else {
        assert.equal(namesOf(first.tag).length, 2, "one namespace and one link, the new ones");
      }
      const stopped = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await stopped;
      assert.deepEqual(namesOf(second.tag), []);
      assert.deepEqual(tablesOf(second.tag), []);
      for (const t of [first.tag, second.tag]) {
        const files = readdirSync(REGISTRY).filter((f) => f.startsWith(`.${t}-`));
        assert.deepEqual(files, [], "no set-up file of the cluster is left");
      }
      assert.equal(existsSync(`${REGISTRY}/${second.tag}`), false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(home, { recursive: true, force: true });
    }
  });
});
