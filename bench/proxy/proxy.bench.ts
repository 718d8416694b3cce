/**
 * Service proxy benchmark: the same backend reached directly and through the proxy.
 *
 * - HTTP keep-alive throughput and latency: `wrk` when installed (the closest thing to the
 *   published kube-proxy figures), else a small Node load generator in its own process.
 * - Bulk TCP throughput, client → backend and backend → client.
 *
 * The backend and every client run in their own processes; the proxy runs here, as it does in
 * the cluster process. Prints each figure and the proxy/direct ratio, and writes
 * `.bench-results/proxy.json` (bench/_result.ts) and `proxy-detail.json`. Reference: the userspace kube-proxy reached 36 % of direct, the
 * iptables one 96 % (kubernetes PR #16344).
 *
 * Run: node --import tsx bench/proxy/proxy.bench.ts [--quick] [--seconds 5] [--connections 32]
 *      [--mb 256] [--rounds 3] [--loader auto|wrk|node]   (`--quick`: 2 s, 64 MiB, 1 round)
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { nthAddress, parseCidr } from "../../src/api/cidr.ts";
import { createServiceProxy } from "../../src/proxy/index.ts";
import { leaseTestPlan } from "../../test/_kubelet.ts";
import { type Line, RESULTS_DIR, startResult } from "../_result.ts";
import { type HttpFigures, hasWrk, wrk } from "./_wrk.ts";

const here = dirname(fileURLToPath(import.meta.url));
const peer = join(here, "_peer.ts");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    mb: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    loader: { type: "string", default: "auto" },
    quick: { type: "boolean", default: false },
  },
});
const quick = values.quick === true;
const seconds = quick ? 2 : Number(values.seconds);
const connections = Number(values.connections);
const bulkBytes = (quick ? 64 : Number(values.mb)) * 1024 * 1024;
const rounds = quick ? 1 : Number(values.rounds);
const result = startResult("proxy", { quick });
const lines: Line[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function medianBy(runs: HttpFigures[]): HttpFigures {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50ms: median(runs.map((r) => r.p50ms)),
    p99ms: median(runs.map((r) => r.p99ms)),
  };
}

// Addresses of this run's own, leased as a cluster's are: a cluster may run beside the benchmark.
const { plan, release } = await leaseTestPlan("bench-proxy");
process.once("exit", release);
const BACKEND = nthAddress(parseCidr(plan.podCidr), 250 * 256 + 1);
const SERVICE = nthAddress(parseCidr(plan.serviceCidr), 250 * 256 + 1);
const HTTP_PORT = 18080;
const BULK_PORT = 19000;

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", peer, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`peer ${args[0]} exited ${code}`)),
    );
  });
}

function startBackend(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", peer, "backend", BACKEND, String(HTTP_PORT), String(BULK_PORT)],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    child.stdout.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`backend exited ${code}`)));
  });
}

async function httpLoad(
  url: string,
  useWrk: boolean,
  secs: number,
  conns = connections,
): Promise<HttpFigures> {
  if (useWrk) return wrk(url, secs, conns);
  return JSON.parse(await run(["http", url, String(conns), String(secs)])) as HttpFigures;
}

async function bulk(ip: string, port: number, direction: "up" | "down"): Promise<number> {
  const out = JSON.parse(await run(["bulk", ip, String(port), direction, String(bulkBytes)]));
  return (out as { mbps: number }).mbps;
}

const backend = await startBackend();
const proxy = createServiceProxy({
  nodeName: "bench",
  nodeIP: plan.nodeIP,
  loadBalancerCidr: plan.loadBalancerCidr,
});
try {
  proxy.upsertService({
    metadata: { namespace: "default", name: "bench" },
    spec: {
      clusterIP: SERVICE,
      ports: [
        { name: "http", port: HTTP_PORT },
        { name: "bulk", port: BULK_PORT },
      ],
    },
  });
  proxy.upsertEndpointSlice({
    metadata: {
      namespace: "default",
      name: "bench-1",
      labels: { "kubernetes.io/service-name": "bench" },
    },
    addressType: "IPv4",
    ports: [
      { name: "http", port: HTTP_PORT },
      { name: "bulk", port: BULK_PORT },
    ],
    endpoints: [{ addresses: [BACKEND], conditions: { ready: true } }],
  });
  await proxy.settled();

  const useWrk = values.loader === "wrk" || (values.loader === "auto" && hasWrk());
  const loader = useWrk ? "wrk -t1" : "node load generator";
  if (!useWrk && values.loader === "auto") {
    console.log("# wrk not found: the Node load generator limits these HTTP figures more than wrk");
  }
  // The machine is shared: alternate direct and proxied runs and keep the median of each.
  console.log(`# HTTP keep-alive, ${connections} connections, ${seconds} s x ${rounds}, ${loader}`);
  await httpLoad(`http://${SERVICE}:${HTTP_PORT}/`, useWrk, 1); // warm both paths up
  const directRuns: HttpFigures[] = [];
  const proxiedRuns: HttpFigures[] = [];
  for (let i = 0; i < rounds; i++) {
    directRuns.push(await httpLoad(`http://${BACKEND}:${HTTP_PORT}/`, useWrk, seconds));
    proxiedRuns.push(await httpLoad(`http://${SERVICE}:${HTTP_PORT}/`, useWrk, seconds));
  }
  const direct = medianBy(directRuns);
  const proxied = medianBy(proxiedRuns);
  const row = (name: string, f: HttpFigures) =>
    console.log(
      `${name.padEnd(8)} ${f.rps.toFixed(0).padStart(8)} req/s   p50 ${f.p50ms.toFixed(2)} ms   p99 ${f.p99ms.toFixed(2)} ms`,
    );
  row("direct", direct);
  row("proxied", proxied);
  const httpRatio = proxied.rps / direct.rps;
  // Latency without queueing: one connection, one request in flight.
  const singleRuns = { direct: [] as HttpFigures[], proxied: [] as HttpFigures[] };
  for (let i = 0; i < rounds; i++) {
    singleRuns.direct.push(await httpLoad(`http://${BACKEND}:${HTTP_PORT}/`, useWrk, seconds, 1));
    singleRuns.proxied.push(await httpLoad(`http://${SERVICE}:${HTTP_PORT}/`, useWrk, seconds, 1));
  }
  const single = { direct: medianBy(singleRuns.direct), proxied: medianBy(singleRuns.proxied) };
  row("direct, 1 connection", single.direct);
  row("proxied, 1 connection", single.proxied);
  const DIRECT = "measured: the same requests straight to the pod IP";
  lines.push(
    {
      measure: `proxy: HTTP keep-alive through the ClusterIP (${connections} conns, ${loader})`,
      value: proxied.rps,
      unit: "/s",
      better: "higher",
      detail: `p50 ${proxied.p50ms.toFixed(2)} ms, p99 ${proxied.p99ms.toFixed(2)} ms; aim ≥ 60 % of direct (userspace kube-proxy 36 %, iptables 96 %, kubernetes PR #16344)`,
      anchor: { value: direct.rps, source: DIRECT },
    },
    {
      measure: `proxy: added p50 latency under that load (${connections} connections)`,
      value: (proxied.p50ms - direct.p50ms) * 1000,
      unit: "µs",
      better: "lower",
      detail: `direct p50 ${direct.p50ms.toFixed(3)} ms, proxied ${proxied.p50ms.toFixed(3)} ms`,
    },
    {
      measure: "proxy: added p50 latency of one request at a time (1 connection)",
      value: (single.proxied.p50ms - single.direct.p50ms) * 1000,
      unit: "µs",
      better: "lower",
      aim: 100,
      detail: `direct p50 ${single.direct.p50ms.toFixed(3)} ms, proxied ${single.proxied.p50ms.toFixed(3)} ms`,
    },
  );
  console.log(
    `ratio    ${(httpRatio * 100).toFixed(0)} % of direct (userspace kube-proxy 36 %, iptables 96 %)`,
  );

  console.log(`# bulk TCP, ${bulkBytes / 1024 / 1024} MiB per transfer x ${rounds}`);
  const figures: Record<string, number> = {};
  for (const direction of ["up", "down"] as const) {
    const d: number[] = [];
    const p: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < rounds; i++) {
      d.push(await bulk(BACKEND, BULK_PORT, direction));
      const before = process.cpuUsage();
      p.push(await bulk(SERVICE, BULK_PORT, direction));
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1e6 / (bulkBytes / 1e9));
    }
    const [dm, pm, cm] = [median(d), median(p), median(cpu)];
    figures[`bulk_${direction}_direct_mbps`] = dm;
    figures[`bulk_${direction}_proxied_mbps`] = pm;
    figures[`bulk_${direction}_proxy_cpu_s_per_gb`] = cm;
    lines.push({
      measure: `proxy: bulk TCP ${direction === "up" ? "client → pod" : "pod → client"} through the ClusterIP`,
      value: pm,
      unit: "MB/s",
      better: "higher",
      detail: `${bulkBytes / 1024 / 1024} MiB × ${rounds}; proxy CPU ${cm.toFixed(2)} s/GB`,
      anchor: { value: dm, source: "measured: the same transfer straight to the pod IP" },
    });
    console.log(
      `${direction.padEnd(5)} direct ${dm.toFixed(0)} MB/s   proxied ${pm.toFixed(0)} MB/s   ratio ${((pm / dm) * 100).toFixed(0)} %   proxy CPU ${cm.toFixed(2)} s/GB`,
    );
  }
  const results = {
    loader,
    connections,
    seconds,
    rounds,
    http_direct: direct,
    http_proxied: proxied,
    http_ratio: httpRatio,
    ...figures,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, "proxy-detail.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${result.done(lines)}`);
} finally {
  await proxy.close();
  backend.kill();
}
