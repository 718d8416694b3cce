/**
 * Time to a working cluster, the way minikube's time-to-k8s benchmark measures kind, k3d and
 * minikube, and the idle memory of a running cluster.
 *
 * Two protocols, each from a fresh data dir, timed from the moment the `loopkube` process is
 * spawned (so Node's own start-up counts):
 *
 * - **time-to-k8s** (the published tool's steps, with the real kubectl): `loopkube up --detach`
 *   returns ("command exec") → `kubectl get po -A` succeeds ("API server answering") → `kubectl
 *   get svc kubernetes` → `kubectl get svc kube-dns -n kube-system` → `kubectl apply -f
 *   examples/quickstart` + `kubectl rollout status` ("app running") → the app's headless name
 *   resolves through the cluster DNS ("DNS answering"). Each kubectl call costs its own start-up,
 *   as in the published figures.
 * - **issue #7's four steps** (`loopkube up -f examples/quickstart` in the foreground, polled
 *   every 2 ms from this process): (1) the API answers `/livez`, (2) the `kubernetes` Service is
 *   readable, (3) the cluster DNS answers `kubernetes.default`, (4) the quickstart's headless name
 *   resolves to its three Ready pods. Aim: all four under 1 s.
 *
 * Then idle RSS: 5 s after (4), the loopkube process's VmRSS, and its pods' (the quickstart's
 * three Node servers) separately. Published anchors: minikube site, docs/benchmarks/timeToK8s
 * v1.36.0 (kind 32.98 s, k3d 19.94 s, minikube 50.81 s in total); K3s docs, Resource Profiling
 * ("K3s server with a workload", Kine/SQLite: 1596 M).
 *
 * Run: node --import tsx bench/cluster/time-to-k8s.bench.ts [--quick] [--runs N]
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { get } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../src/_testing/index.ts";
import { REFS } from "../../src/api/refs.ts";
import { createHttpClient, loadKubeconfig } from "../../src/client/index.ts";
import { KUBECTL } from "../../test/_kubectl.ts";
import { descendants } from "../../test/_proc.ts";
import { type Line, startResult } from "../_result.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "bin", "loopkube.js");
const QUICKSTART = join(ROOT, "examples", "quickstart");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const runsArg = args.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 1 : 5;
const HEADLESS = "my-headless-service.default.svc.cluster.local";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI runs the bundle: rebuild when any source file is newer than it. */
function ensureBuilt(): void {
  const built = join(ROOT, "dist", "loopkube.mjs");
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, "src"))) return;
  console.log("building dist/ (sources are newer)…");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject()));
    });
  });
}

/** The time `fn` first held (polled every 2 ms; an error is "not yet"), since `t0`. */
function until(t0: number, what: string, fn: () => Promise<boolean>): Promise<number> {
  return waitFor(async () => (await fn()) && performance.now() - t0, {
    what,
    timeoutMs: 60_000,
    intervalMs: 2,
    retryErrors: true,
  });
}

function resolver(port: number): Resolver {
  const r = new Resolver({ timeout: 100, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

const livez = (port: number) =>
  new Promise<boolean>((resolve) => {
    get(`https://127.0.0.1:${port}/livez`, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on("error", () => resolve(false));
  });

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Ports {
  api: number;
  dns: number;
}

function upArgs(dataDir: string, ports: Ports): string[] {
  return [
    BIN,
    "up",
    "--data-dir",
    dataDir,
    "--api-port",
    String(ports.api),
    "--dns-port",
    String(ports.dns),
    "--no-kubeconfig-update",
    // The quickstart's pods run node on the host: no image is pulled from the internet.
    "--runtime",
    "process",
  ];
}

function kubectl(kubeconfig: string, ...a: string[]): string {
  if (!KUBECTL) throw new Error("kubectl is not installed: the time-to-k8s steps need it");
  return execFileSync(KUBECTL, ["--kubeconfig", kubeconfig, ...a], { encoding: "utf8" });
}

/** One time-to-k8s run; cumulative seconds at each step. */
async function timeToK8s(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-ttk-"));
  const ports = { api: await freePort(), dns: await freePort() };
  const kubeconfig = join(dataDir, "kubeconfig");
  const t0 = performance.now();
  const at: Record<string, number> = {};
  try {
    execFileSync(process.execPath, [...upArgs(dataDir, ports), "--detach"], { stdio: "ignore" });
    at["command exec"] = performance.now() - t0;
    kubectl(kubeconfig, "get", "po", "-A");
    at["API server answering"] = performance.now() - t0;
    kubectl(kubeconfig, "get", "svc", "kubernetes");
    at["kubernetes SVC"] = performance.now() - t0;
    kubectl(kubeconfig, "get", "svc", "kube-dns", "-n", "kube-system");
    at["DNS SVC"] = performance.now() - t0;
    kubectl(kubeconfig, "apply", "-f", QUICKSTART);
    kubectl(kubeconfig, "rollout", "status", "deployment/my-app", "--timeout=60s");
    at["app running"] = performance.now() - t0;
    const r = resolver(ports.dns);
    at["DNS answering"] = await until(
      t0,
      "headless name",
      async () => (await r.resolve4(HEADLESS)).length === 3,
    );
  } finally {
    try {
      execFileSync(process.execPath, [BIN, "down", "--data-dir", dataDir], { stdio: "ignore" });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return at;
}

/** One run of the four steps, and the idle RSS after the last. */
async function fourSteps(measureRss: boolean): Promise<{
  at: Record<string, number>;
  rss?: { cluster: number; pods: number; podCount: number };
}> {
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-ttk-"));
  const ports = { api: await freePort(), dns: await freePort() };
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...upArgs(dataDir, ports), "-f", QUICKSTART],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise((r) => child.once("exit", r));
  const at: Record<string, number> = {};
  try {
    at["API answering"] = await until(t0, "API", () => livez(ports.api));
    const kubeconfigPath = join(dataDir, "kubeconfig");
    at["kubernetes Service present"] = await until(t0, "kubernetes Service", async () => {
      if (!existsSync(kubeconfigPath)) return false;
      const client = createHttpClient(loadKubeconfig(readFileSync(kubeconfigPath, "utf8")));
      const svc = await client.get(REFS.services, "default", "kubernetes");
      return svc.metadata.name === "kubernetes";
    });
    const r = resolver(ports.dns);
    at["DNS answering"] = await until(
      t0,
      "DNS",
      async () => (await r.resolve4("kubernetes.default.svc.cluster.local")).length === 1,
    );
    at["quickstart Ready, headless name resolving"] = await until(
      t0,
      "quickstart",
      async () => (await r.resolve4(HEADLESS)).length === 3,
    );
    if (!measureRss || child.pid === undefined) return { at };
    await sleep(5_000);
    const pods = descendants(child.pid);
    return {
      at,
      rss: {
        cluster: rssMiB(child.pid),
        pods: pods.reduce((s, p) => s + (Number.isNaN(rssMiB(p)) ? 0 : rssMiB(p)), 0),
        podCount: pods.length,
      },
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

function collect(runs: Record<string, number>[]): Map<string, number[]> {
  const byStep = new Map<string, number[]>();
  for (const run of runs)
    for (const [k, v] of Object.entries(run)) byStep.set(k, [...(byStep.get(k) ?? []), v]);
  return byStep;
}

ensureBuilt();
const result = startResult("time-to-k8s", { quick });
const lines: Line[] = [];

const PUBLISHED = "published: minikube docs/benchmarks/timeToK8s v1.36.0";
const ttkAnchors: Record<string, { kind: number; k3d: number }> = {
  "command exec": { kind: 14.24, k3d: 12.593 },
  "API server answering": { kind: 14.296, k3d: 12.66 },
  "kubernetes SVC": { kind: 14.347, k3d: 12.712 },
  "DNS SVC": { kind: 14.396, k3d: 12.761 },
  "app running": { kind: 32.375, k3d: 15.8 },
  "DNS answering": { kind: 32.977, k3d: 19.937 },
};
const ttkRuns = KUBECTL ? (quick ? 1 : 3) : 0;
if (!KUBECTL) console.log("time-to-k8s steps skipped: kubectl is not installed");
const ttk: Record<string, number>[] = [];
for (let i = 0; i < ttkRuns; i++) ttk.push(await timeToK8s());
for (const [step, xs] of collect(ttk)) {
  const anchor = ttkAnchors[step];
  lines.push({
    measure: `time-to-k8s: ${step} (cumulative)`,
    value: median(xs) / 1000,
    unit: "s",
    better: "lower",
    detail: `median of ${xs.length}: ${xs.map((x) => (x / 1000).toFixed(2)).join(", ")} s; kind ${anchor?.kind} s`,
    ...(anchor
      ? { anchor: { value: anchor.k3d, source: `${PUBLISHED}, k3d v5.8.3 (fastest)` } }
      : {}),
  });
}

const four: Record<string, number>[] = [];
let rss: { cluster: number; pods: number; podCount: number } | undefined;
for (let i = 0; i < RUNS; i++) {
  const run = await fourSteps(i === RUNS - 1);
  four.push(run.at);
  rss = run.rss ?? rss;
}
for (const [step, xs] of collect(four)) {
  lines.push({
    measure: `up -f quickstart: ${step}`,
    value: median(xs),
    unit: "ms",
    better: "lower",
    aim: 1000,
    detail: `median of ${xs.length}, p100 ${Math.max(...xs).toFixed(0)} ms`,
    ...(step.startsWith("quickstart")
      ? { anchor: { value: 19_937, source: `${PUBLISHED}, k3d total (DNS answering)` } }
      : {}),
  });
}
if (rss) {
  lines.push({
    measure: "idle RSS of the loopkube process (quickstart running)",
    value: rss.cluster,
    unit: "MiB",
    better: "lower",
    aim: 100,
    anchor: {
      value: 1596,
      source: "published: K3s docs, Resource Profiling, server with a workload (SQLite)",
    },
  });
  lines.push({
    measure: `idle RSS of its pods (${rss.podCount} processes)`,
    value: rss.pods,
    unit: "MiB",
    better: "lower",
  });
}
for (const l of lines)
  console.log(
    `${l.measure.padEnd(60)} ${l.value.toFixed(l.unit === "s" ? 2 : 0)} ${l.unit}  ${l.detail ?? ""}`,
  );
console.log(`wrote ${result.done(lines)}`);
