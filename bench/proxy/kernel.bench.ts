/**
 * Kernel service proxy benchmark (#17), from inside a pod's network namespace, as root: a
 * cluster with pod network namespaces is started once with `--proxy-mode nftables` and once
 * with `userspace`; in each, a client pod's namespace runs keep-alive HTTP load (bench/proxy's
 * `_peer.ts http`) straight to the server pod's IP and through the Service's ClusterIP, rounds
 * interleaved. Figures: throughput (ClusterIP / direct; kube-proxy's iptables mode reached 96 %
 * of direct, PR #16344), per-request p50 one request at a time, and the rules programming
 * latency: an EndpointSlice written through the API → the endpoint's DNAT rule in the kernel,
 * seen by a running `nft monitor` (p50/p99), in two clusters side by side: one sending its
 * transactions to a long-lived `nft -i` (the default), one forking `nft -f -` per change
 * (`LOOPKUBE_NFT=fork`).
 *
 * Network safety: every target is checked with `ip route get` inside the client's namespace
 * (it must leave on `eth0`, the veth to the host) and lies in the cluster's 127.0.0.0/8 ranges.
 *
 * Run: node --import tsx bench/proxy/kernel.bench.ts [--quick] [--seconds 3] [--connections 8]
 *      [--rounds 3] [--changes 100] [--programming-only] [--loader auto|wrk|node]
 *      (`--quick`: 1 s, 1 round, 30 changes; the load from `wrk -t1` when installed, else
 *      bench/proxy's Node load generator, which itself tops out near 6k requests/s)
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { waitFor } from "../../src/_testing/index.ts";
import { nthAddress, parseCidr } from "../../src/api/cidr.ts";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { type Cluster, startCluster } from "../../src/index.ts";
import { routeDevice } from "../../src/kubelet/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";
import { hasWrk, wrk } from "./_wrk.ts";

const peer = join(dirname(fileURLToPath(import.meta.url)), "_peer.ts");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    changes: { type: "string", default: "100" },
    quick: { type: "boolean", default: false },
    "programming-only": { type: "boolean", default: false },
    loader: { type: "string", default: "auto" },
  },
});
const quick = values.quick === true;
const seconds = quick ? 1 : Number(values.seconds);
const connections = Number(values.connections);
const rounds = quick ? 1 : Number(values.rounds);
const changes = quick ? 30 : Number(values.changes);
const programmingOnly = values["programming-only"] === true;
const result = startResult("proxy-kernel", { quick });
const lines: Line[] = [];

const why =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "needs root on Linux (pod network namespaces, nftables)"
    : spawnSync("nft", ["--version"]).status !== 0
      ? "nft (nftables) is not installed"
      : undefined;
if (why) {
  console.log(`# proxy-kernel skipped: ${why}`);
  console.log(`wrote ${result.done([])}`);
  process.exit(0);
}

const SERVER = `const b=Buffer.from("ok");const s=require("http").createServer((q,r)=>{r.writeHead(200,{"content-length":2});r.end(b)});s.keepAliveTimeout=60000;s.listen(8080,"0.0.0.0")`;
const NODE = process.execPath;
const median = (xs: number[]) => percentile(xs, 50);

interface Http {
  rps: number;
  p50ms: number;
  p99ms: number;
}

function inNs(ns: string, cmd: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(err || `exit ${code}`)),
    );
  });
}

const useWrk = values.loader === "wrk" || (values.loader === "auto" && hasWrk());
const loader = useWrk ? "wrk -t1" : "node load generator";

const load = async (ns: string, url: string, conns: number, secs: number): Promise<Http> =>
  useWrk
    ? wrk(url, secs, conns, ["ip", "netns", "exec", ns])
    : (JSON.parse(
        await inNs(ns, [NODE, "--import", "tsx", peer, "http", url, String(conns), String(secs)]),
      ) as Http);

async function podsUp(cluster: Cluster) {
  const pod = (name: string, command: string[], probe: boolean) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: name } },
    spec: {
      containers: [
        {
          name: "c",
          image: "node",
          command,
          ...(probe ? { readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } } : {}),
        },
      ],
    },
  });
  await cluster.client.create(
    REFS.pods,
    "default",
    pod("server", [NODE, "-e", SERVER], true) as KubeObject,
  );
  await cluster.client.create(
    REFS.pods,
    "default",
    pod("client", [NODE, "-e", "setInterval(()=>{},1e9)"], false) as KubeObject,
  );
  await cluster.client.create(REFS.services, "default", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "server" }, ports: [{ port: 80, targetPort: 8080 }] },
  } as KubeObject);
  const ips = await waitFor(
    async () => {
      const pods = (await cluster.client.list(REFS.pods, "default")).items as Pod[];
      const ready = (n: string) =>
        pods.find(
          (p) =>
            p.metadata?.name === n &&
            p.status?.podIP &&
            (n === "client"
              ? p.status.phase === "Running"
              : p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")),
        )?.status?.podIP;
      const s = ready("server");
      const c = ready("client");
      return s && c ? { server: s, client: c } : undefined;
    },
    { what: "server Ready and client Running", timeoutMs: 60_000 },
  );
  const svc = (await cluster.client.get(REFS.services, "default", "web")) as Service;
  return { ...ips, clusterIP: svc.spec?.clusterIP ?? "" };
}

async function measure(mode: "nftables" | "userspace") {
  const cluster = await startCluster({
    runtime: "process",
    name: `kbench-${mode.slice(0, 4)}`,
    ephemeral: true,
    apiPort: 0,
    dnsPort: 0,
    updateKubeconfig: false,
    podNetwork: "netns",
    proxyMode: mode,
  });
  try {
    const { server, client, clusterIP } = await podsUp(cluster);
    const tag = /^lk([0-9a-f]{4})/.exec(await routeDevice(client))?.[1] ?? "";
    const ns = `loopkube-${tag}-${client}`;
    for (const ip of [server, clusterIP]) {
      if (!ip.startsWith("127.")) throw new Error(`${ip} is not a loopback address`);
      const dev = / dev (\S+)/.exec(await inNs(ns, ["ip", "-o", "route", "get", ip]))?.[1];
      if (dev !== "eth0") throw new Error(`${ip} would leave the client pod on ${dev}, not eth0`);
    }
    const direct = `http://${server}:8080/`;
    const service = `http://${clusterIP}/`;
    await waitFor(
      async () => (await load(ns, service, 1, 0.2).catch(() => undefined))?.rps || undefined,
      {
        what: "the ClusterIP answering the client pod",
      },
    );
    const runs: Record<string, Http[]> = { direct: [], service: [], direct1: [], service1: [] };
    for (let i = 0; i < rounds; i++) {
      runs.direct?.push(await load(ns, direct, connections, seconds));
      runs.service?.push(await load(ns, service, connections, seconds));
      runs.direct1?.push(await load(ns, direct, 1, seconds));
      runs.service1?.push(await load(ns, service, 1, seconds));
    }
    const m = (k: string, f: keyof Http) => median((runs[k] ?? []).map((r) => r[f]));
    const fig = {
      rps: m("service", "rps"),
      directRps: m("direct", "rps"),
      p50: m("service1", "p50ms"),
      directP50: m("direct1", "p50ms"),
      p99: m("service", "p99ms"),
      directP99: m("direct", "p99ms"),
    };
    console.log(
      `${mode.padEnd(9)} ClusterIP ${fig.rps.toFixed(0)}/s vs direct ${fig.directRps.toFixed(0)}/s = ${((fig.rps / fig.directRps) * 100).toFixed(0)} %; one at a time p50 (${loader}) ${fig.p50.toFixed(3)} ms vs ${fig.directP50.toFixed(3)} ms`,
    );
    lines.push(
      {
        measure: `proxy-kernel: ClusterIP keep-alive HTTP from a pod, ${mode} (${connections} connections)`,
        value: fig.rps,
        unit: "/s",
        better: "higher",
        detail: `p99 ${fig.p99.toFixed(2)} ms (direct ${fig.directP99.toFixed(2)}); ${rounds} × ${seconds} s, ${loader}`,
        anchor: { value: fig.directRps, source: "measured: the same load straight to the pod IP" },
        ...(mode === "nftables" ? { aim: fig.directRps * 0.95 } : {}),
      },
      {
        measure: `proxy-kernel: ClusterIP request p50 from a pod, one at a time, ${mode}`,
        value: fig.p50 * 1000,
        unit: "µs",
        better: "lower",
        detail: `direct ${(fig.directP50 * 1000).toFixed(0)} µs`,
        anchor: { value: fig.directP50 * 1000, source: "measured: straight to the pod IP" },
      },
    );
  } finally {
    await cluster.stop();
  }
}

type NftMode = "session" | "fork";

/** A cluster with kernel ClusterIPs and no pods, its nft transactions run the `mode` way. */
async function programmingCluster(mode: NftMode): Promise<Cluster> {
  // Read when the cluster's kernel proxy makes its nft runner, during start (src/nft).
  if (mode === "fork") process.env.LOOPKUBE_NFT = "fork";
  else delete process.env.LOOPKUBE_NFT;
  try {
    return await startCluster({
      runtime: "process",
      name: `kbench-p${mode}`,
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      podNetwork: "netns",
      proxyMode: "nftables",
    });
  } finally {
    delete process.env.LOOPKUBE_NFT;
  }
}

/**
 * Rules programming, the two ways side by side: an EndpointSlice written through the API → the
 * endpoint's DNAT rule added in the kernel (seen by a running `nft monitor`), in a cluster whose
 * transactions go to its long-lived `nft -i` and in one forking `nft -f -` per change, the
 * changes interleaved (the order alternating each round) so that both see the same load.
 */
async function programming(): Promise<Line[]> {
  const modes: NftMode[] = ["session", "fork"];
  const clusters = new Map<NftMode, Cluster>();
  const monitor = spawn("nft", ["monitor", "rules"], { stdio: ["ignore", "pipe", "ignore"] });
  let partial = "";
  const waiting = new Map<string, (at: number) => void>();
  monitor.stdout.setEncoding("utf8").on("data", (d: string) => {
    const at = performance.now();
    const lines = (partial + d).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!/ loopkube-\w+-svc /.test(line)) continue;
      const ip = / dnat to ([\d.]+):/.exec(line)?.[1];
      const done = ip === undefined ? undefined : waiting.get(ip);
      if (ip !== undefined && done) {
        waiting.delete(ip);
        done(at);
      }
    }
  });
  try {
    for (const mode of modes) clusters.set(mode, await programmingCluster(mode));
    const state = new Map<NftMode, { current: KubeObject; cidr: ReturnType<typeof parseCidr> }>();
    const slice = (mode: NftMode, i: number) =>
      ({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "prog-1",
          namespace: "default",
          labels: { "kubernetes.io/service-name": "prog" },
        },
        addressType: "IPv4",
        endpoints: [
          {
            addresses: [
              nthAddress(state.get(mode)?.cidr ?? parseCidr("127.0.0.0/8"), 100 + (i % 100)),
            ],
            conditions: { ready: true },
          },
        ],
        ports: [{ name: "", port: 8080, protocol: "TCP" }],
      }) as unknown as KubeObject;
    for (const [mode, cluster] of clusters) {
      await cluster.client.create(REFS.services, "default", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "prog", namespace: "default" },
        spec: { ports: [{ port: 80, targetPort: 8080 }] },
      } as KubeObject);
      state.set(mode, { current: {} as KubeObject, cidr: parseCidr(cluster.addresses.podCidr) });
      const s = state.get(mode);
      if (s)
        s.current = await cluster.client.create(REFS.endpointslices, "default", slice(mode, 0));
    }
    await new Promise((r) => setTimeout(r, 500));
    const took = new Map<NftMode, number[]>(modes.map((m) => [m, []]));
    const change = async (mode: NftMode, i: number) => {
      const cluster = clusters.get(mode);
      const s = state.get(mode);
      if (!cluster || !s) return;
      const next = slice(mode, i);
      const ip =
        (next as unknown as { endpoints: { addresses: string[] }[] }).endpoints[0]?.addresses[0] ??
        "";
      const live = new Promise<number>((resolve) => waiting.set(ip, resolve));
      const t0 = performance.now();
      s.current = await cluster.client.update(REFS.endpointslices, "default", {
        ...next,
        metadata: {
          ...(next.metadata ?? {}),
          resourceVersion: s.current.metadata?.resourceVersion ?? "",
        },
      } as KubeObject);
      let timer: NodeJS.Timeout | undefined;
      const at = await Promise.race([
        live,
        new Promise<number>((_, rej) => {
          timer = setTimeout(
            () => rej(new Error(`${mode}: no rule for ${ip} within 10 s`)),
            10_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      took.get(mode)?.push(at - t0);
    };
    for (let i = 1; i <= changes; i++) {
      for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) await change(mode, i);
    }
    const fig = (mode: NftMode) => {
      const t = took.get(mode) ?? [];
      return { p50: percentile(t, 50), p99: percentile(t, 99) };
    };
    const live = fig("session");
    const fork = fig("fork");
    console.log(
      `programming: EndpointSlice write → rule in the kernel, ${changes} changes each, interleaved: one nft -i per cluster p50 ${live.p50.toFixed(1)} ms, p99 ${live.p99.toFixed(1)} ms; one nft -f - per change p50 ${fork.p50.toFixed(1)} ms, p99 ${fork.p99.toFixed(1)} ms (p99 ${(fork.p99 / live.p99).toFixed(1)}×, p50 ${(fork.p50 / live.p50).toFixed(1)}×)`,
    );
    const source = "measured: one `nft -f -` process per change, the same changes interleaved";
    return [
      {
        measure: "proxy-kernel: rules programming, EndpointSlice write → DNAT rule live, p99",
        value: live.p99,
        unit: "ms",
        better: "lower",
        detail: `one long-lived nft -i per cluster; ${changes} changes; seen by nft monitor`,
        anchor: { value: fork.p99, source },
      },
      {
        measure: "proxy-kernel: rules programming, EndpointSlice write → DNAT rule live, p50",
        value: live.p50,
        unit: "ms",
        better: "lower",
        detail: `one long-lived nft -i per cluster; ${changes} changes; seen by nft monitor`,
        anchor: { value: fork.p50, source },
      },
    ];
  } finally {
    monitor.kill();
    for (const c of clusters.values()) await c.stop();
  }
}

if (!programmingOnly) {
  await measure("nftables");
  await measure("userspace");
}
lines.push(...(await programming()));
console.log(`wrote ${result.done(lines)}`);
