/**
 * Cluster DNS throughput: our server (one Node process, one core) against Knot DNS with one
 * UDP worker serving an equivalent static zone, both measured with dnsperf over loopback.
 *
 * Workload: 1,000 services in 10 namespaces, half ClusterIP and half headless with 3 ready
 * endpoints each; the query mix is A for every service, SRV `_http._tcp` for every service,
 * and NXDOMAIN names (missing services), shuffled.
 *
 * Run: node --import tsx bench/dns/dns.bench.ts [seconds] [--quick]   (DNS_BENCH_RUNS=n, default 2;
 * --quick: 3 s, one run). Needs dnsperf (and knotd for the comparison); prints qps and the
 * ratios and writes them with bench/_result.ts. Loopback only.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DnsView, startDnsServer } from "../../src/dns/index.ts";
import { type Line, startResult } from "../_result.ts";

const quick = process.argv.includes("--quick");
const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const seconds = Number(positional[0] ?? (quick ? 3 : 10));
/** The aim: 2× CoreDNS's published ~17k qps per vCPU. */
const AIM_QPS = 34000;
const SERVICES = 1000;
const NAMESPACES = 10;

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

interface Svc {
  name: string;
  ns: string;
  headless: boolean;
  ip: string;
  endpoints: string[];
}

function services(): Svc[] {
  const out: Svc[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const headless = i % 2 === 1;
    const endpoints = headless
      ? [0, 1, 2].map((k) => `127.244.${Math.floor((i * 3 + k) / 250)}.${((i * 3 + k) % 250) + 1}`)
      : [];
    out.push({
      name: `svc-${i}`,
      ns: `ns-${i % NAMESPACES}`,
      headless,
      ip: `127.96.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`,
      endpoints,
    });
  }
  return out;
}

function fillView(view: DnsView, svcs: Svc[]): void {
  for (let n = 0; n < NAMESPACES; n++) view.upsertNamespace({ metadata: { name: `ns-${n}` } });
  for (const s of svcs) {
    view.upsertService({
      metadata: { name: s.name, namespace: s.ns },
      spec: s.headless
        ? { clusterIP: "None", ports: [{ name: "http", port: 80, protocol: "TCP" }] }
        : {
            clusterIP: s.ip,
            clusterIPs: [s.ip],
            ports: [{ name: "http", port: 80, protocol: "TCP" }],
          },
    });
    if (s.headless) {
      view.upsertEndpointSlice({
        metadata: {
          name: `${s.name}-x`,
          namespace: s.ns,
          labels: { "kubernetes.io/service-name": s.name },
        },
        addressType: "IPv4",
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
        endpoints: s.endpoints.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      });
    }
  }
  view.setSynced(true);
}

/** The same records as a zone file, for Knot. */
function zoneFile(svcs: Svc[]): string {
  const lines = [
    "$ORIGIN cluster.local.",
    "$TTL 5",
    "@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5",
    "@ IN NS ns.dns.cluster.local.",
    "ns.dns IN A 127.96.0.10",
  ];
  for (const s of svcs) {
    const base = `${s.name}.${s.ns}.svc`;
    if (!s.headless) {
      lines.push(
        `${base} IN A ${s.ip}`,
        `_http._tcp.${base} IN SRV 0 100 80 ${base}.cluster.local.`,
      );
      continue;
    }
    s.endpoints.forEach((ip) => {
      const host = `${ip.replaceAll(".", "-")}.${base}`;
      lines.push(
        `${base} IN A ${ip}`,
        `${host} IN A ${ip}`,
        `_http._tcp.${base} IN SRV 0 33 80 ${host}.cluster.local.`,
      );
    });
  }
  return `${lines.join("\n")}\n`;
}

function queryFile(svcs: Svc[]): string {
  const q: string[] = [];
  for (const s of svcs) {
    q.push(
      `${s.name}.${s.ns}.svc.cluster.local A`,
      `_http._tcp.${s.name}.${s.ns}.svc.cluster.local SRV`,
    );
    q.push(`missing-${s.name}.${s.ns}.svc.cluster.local A`);
  }
  // Deterministic shuffle (LCG) so both servers see the same order.
  let x = 12345;
  for (let i = q.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
  return `${q.join("\n")}\n`;
}

interface Perf {
  qps: number;
  lost: string;
  /** This process's CPU time per completed query (µs): only meaningful when it is the server. */
  cpuUs: number;
}

/**
 * Runs dnsperf (its own process) against a server in this process. Beside the rate, the CPU
 * this process spent per answered query: on a shared machine the rate measures the neighbours,
 * the CPU per query much less.
 */
function dnsperf(host: string, port: number, file: string): Promise<Perf> {
  const cpu0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const p = spawn("dnsperf", [
      "-s",
      host,
      "-p",
      String(port),
      "-d",
      file,
      "-c",
      "4",
      "-T",
      "1",
      "-q",
      "200",
      "-l",
      String(seconds),
    ]);
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      out += d;
    });
    p.on("close", () => {
      const qps = /Queries per second:\s+([\d.]+)/.exec(out);
      const lost = /Queries lost:\s+(.+)/.exec(out);
      const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const cpu = process.cpuUsage(cpu0);
      if (!qps) reject(new Error(`dnsperf output not understood:\n${out}`));
      else
        resolve({
          qps: Number(qps[1]),
          lost: lost?.[1]?.trim() ?? "?",
          cpuUs: completed > 0 ? (cpu.user + cpu.system) / completed : Number.NaN,
        });
    });
  });
}

/** Node's one-packet-per-syscall UDP path alone: a server that only flips the QR bit. */
async function echoCeiling(qfile: string): Promise<Perf> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  sock.on("message", (m, r) => {
    const o = Buffer.from(m);
    o[2] = o[2]! | 0x80;
    o[3] = 3;
    sock.send(o, r.port, r.address);
  });
  try {
    return await dnsperf("127.0.0.1", sock.address().port, qfile);
  } finally {
    sock.close();
  }
}

async function main(): Promise<void> {
  const result = startResult("dns", { quick });
  const lines: Line[] = [];
  const finish = () => console.log(`result: ${result.done(lines)}`);
  if (!have("dnsperf")) {
    console.log("skipped: dnsperf is not installed (apt-get install -y dnsperf)");
    finish();
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "dns-bench-"));
  try {
    const svcs = services();
    const qfile = join(dir, "queries.txt");
    writeFileSync(qfile, queryFile(svcs));
    const view = new DnsView();
    fillView(view, svcs);
    const server = await startDnsServer({
      view,
      clusterDomain: "cluster.local",
      listen: [{ host: "127.0.0.1", port: 0 }],
      upstream: { servers: [], timeoutMs: 100 },
    });
    const port = server.addresses[0]!.port;
    // dnsperf runs in its own process; this process only serves. Alternating runs of ours and
    // of the bare echo server, best of each, keeps a noisy shared machine from skewing the ratio.
    const runs = Number(process.env.DNS_BENCH_RUNS ?? (quick ? 1 : 2));
    let ours: Perf = { qps: 0, lost: "?", cpuUs: Number.POSITIVE_INFINITY };
    let echo: Perf = { qps: 0, lost: "?", cpuUs: Number.POSITIVE_INFINITY };
    let oursCpu = Number.POSITIVE_INFINITY;
    let echoCpu = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      const r = await dnsperf("127.0.0.1", port, qfile);
      if (r.qps > ours.qps) ours = r;
      oursCpu = Math.min(oursCpu, r.cpuUs);
      const e = await echoCeiling(qfile);
      if (e.qps > echo.qps) echo = e;
      echoCpu = Math.min(echoCpu, e.cpuUs);
    }
    await server.close();
    console.log(`loopkube dns: ${ours.qps.toFixed(0)} qps (lost ${ours.lost})`);
    console.log(`bare Node dgram echo (the ceiling): ${echo.qps.toFixed(0)} qps`);
    console.log(`ratio loopkube/ceiling: ${(ours.qps / echo.qps).toFixed(2)}`);
    console.log(
      `CPU per query: loopkube ${oursCpu.toFixed(1)} µs, echo ${echoCpu.toFixed(1)} µs (lowest of ${runs})`,
    );
    const mix = `${SERVICES.toLocaleString("en")} Services, A + SRV + NXDOMAIN, dnsperf -c 4 -q 200, ${seconds} s, best of ${runs}`;
    lines.push({
      measure: "DNS queries per second, one process (vs the bare Node UDP echo)",
      value: Math.round(ours.qps),
      unit: "/s",
      better: "higher",
      detail: `${mix}; lost ${ours.lost}`,
      anchor: {
        value: Math.round(echo.qps),
        source: "measured: bare Node dgram echo, same dnsperf",
      },
      aim: AIM_QPS,
    });
    lines.push({
      measure: "DNS server CPU per query (vs the bare Node UDP echo)",
      value: Math.round(oursCpu * 100) / 100,
      unit: "µs",
      better: "lower",
      detail: `lowest of ${runs}; ${Math.round(1e6 / oursCpu)} queries per CPU-second (aim ${AIM_QPS} per core)`,
      anchor: {
        value: Math.round(echoCpu * 100) / 100,
        source: "measured: bare Node dgram echo, same dnsperf",
      },
      aim: 1e6 / AIM_QPS,
    });
    lines.push({
      measure: "DNS queries per second (vs CoreDNS published)",
      value: Math.round(ours.qps),
      unit: "/s",
      better: "higher",
      detail: mix,
      anchor: {
        value: 33669,
        source:
          "published: CoreDNS, coredns/deployment kubernetes/Scaling_CoreDNS.md, internal queries, one instance on 2 vCPUs (n1-standard-2)",
      },
      aim: AIM_QPS,
    });

    if (!have("knotd")) {
      console.log("knot comparison skipped: knotd is not installed (apt-get install -y knot)");
      finish();
      return;
    }
    writeFileSync(join(dir, "cluster.local.zone"), zoneFile(svcs));
    const knotPort = port + 1;
    writeFileSync(
      join(dir, "knot.conf"),
      [
        "server:",
        `  rundir: "${dir}"`,
        `  listen: 127.0.0.2@${knotPort}`,
        "  udp-workers: 1",
        "  tcp-workers: 1",
        "  background-workers: 1",
        "database:",
        `  storage: "${dir}"`,
        "template:",
        "  - id: default",
        `    storage: "${dir}"`,
        "zone:",
        "  - domain: cluster.local",
        "    file: cluster.local.zone",
        "",
      ].join("\n"),
    );
    const knot = spawn("knotd", ["-c", join(dir, "knot.conf")], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const k = await dnsperf("127.0.0.2", knotPort, qfile);
      console.log(`knot (1 udp worker): ${k.qps.toFixed(0)} qps (lost ${k.lost})`);
      console.log(`ratio loopkube/knot: ${(ours.qps / k.qps).toFixed(2)}`);
      lines.push({
        measure: "DNS queries per second (vs Knot DNS)",
        value: Math.round(ours.qps),
        unit: "/s",
        better: "higher",
        detail: `${mix}; Knot lost ${k.lost}`,
        anchor: {
          value: Math.round(k.qps),
          source: "measured: Knot DNS, 1 UDP worker, equivalent zone",
        },
      });
      finish();
    } finally {
      const exited = new Promise((r) => knot.once("exit", r));
      knot.kill("SIGTERM");
      await exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
