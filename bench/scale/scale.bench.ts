/**
 * The scale run of issue #8: 10,000 Services (half ClusterIP, half headless) and 150,000
 * simulated pods (Deployments and StatefulSets, up to 250 endpoints per Service) in one loopkube
 * process, created through the API over HTTPS, as a real client would, and what they cost: time to
 * create and to become ready, RSS, store size on disk, list/get/watch latency, DNS p99 (a headless
 * name of 250 endpoints over TCP, a ClusterIP name over UDP), and a restart on the same data dir.
 * The same figures at 10 Services come first, as the anchor: DNS and single-object API latency
 * must not grow with the cluster.
 *
 * The cluster runs in a child process (`_cluster.ts`, `--max-old-space-size`), on `--nodes
 * ceil(pods / 110 × 1.05)` simulated nodes, SQLite in a temporary directory; this process only
 * creates objects and measures.
 *
 * Usage: `node --import tsx bench/scale/scale.bench.ts [--quick] [--services N] [--profile DIR]
 * [--heap-snapshot DIR] [--no-restart]` — default 10,000 Services; `--quick` 1,000 Services / 15,000 pods.
 *
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { Agent, request } from "node:https";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import type { ResourceRef } from "../../src/api/verbs.ts";
import { createHttpClient, type HttpClient } from "../../src/client/http.ts";
import { loadKubeconfigFile } from "../../src/client/kubeconfig.ts";
import { type Line, percentile, startResult } from "../_result.ts";
import { queryTcp, queryUdp } from "./_dns.ts";
import { BIG, type Workload, workload } from "./_workload.ts";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag("--quick");
const fullServices = Number(value("--services") ?? (quick ? 1000 : 10_000));
const profileDir = value("--profile");
const heapDir = value("--heap-snapshot");
const doRestart = !flag("--no-restart");
const HEAP_MB = 12_288;

const log = (m: string) =>
  process.stderr.write(
    `[${new Date().toISOString().slice(11, 19)}] load ${loadavg()[0]?.toFixed(1)} ${m}\n`,
  );

// ---- the cluster process --------------------------------------------------------------------

interface Running {
  child: ChildProcess;
  dir: string;
  apiUrl: string;
  kubeconfigPath: string;
  dns: { host: string; port: number };
  startMs: number;
}

function startChild(dir: string, nodes: number): Promise<Running> {
  const child = fork(join(here, "_cluster.ts"), [dir, String(nodes)], {
    execArgv: ["--import", "tsx", "--expose-gc", `--max-old-space-size=${HEAP_MB}`],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`cluster process exited ${code}`)));
    child.once("message", (m) => resolve({ child, dir, ...(m as Omit<Running, "child" | "dir">) }));
  });
}

function ask<T>(c: Running, msg: unknown, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m && typeof m === "object" && key in m) {
        c.child.off("message", on);
        resolve((m as Record<string, T>)[key] as T);
      }
    };
    c.child.on("message", on);
    c.child.send(msg as never);
  });
}

function stopChild(c: Running): Promise<void> {
  return new Promise((resolve) => {
    c.child.removeAllListeners("exit");
    c.child.once("exit", () => resolve());
    c.child.send("stop");
  });
}

// ---- HTTP helpers ---------------------------------------------------------------------------

interface Http {
  client: HttpClient;
  /** One raw GET: ms to the response headers, ms to the whole body, its size and body; rejects
   *  unless the status is 200. */
  get(
    path: string,
    opts?: { headersOnly?: boolean; countOnly?: boolean },
  ): Promise<{ headMs: number; ms: number; bytes: number; body: string }>;
}

function http(c: Running): Http {
  const cfg = loadKubeconfigFile(c.kubeconfigPath);
  const client = createHttpClient(cfg);
  const agent = new Agent({
    keepAlive: true,
    ...(cfg.caCert ? { ca: cfg.caCert } : {}),
    ...(cfg.clientCert ? { cert: cfg.clientCert } : {}),
    ...(cfg.clientKey ? { key: cfg.clientKey } : {}),
  });
  const get: Http["get"] = (path, opts = {}) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        new URL(path, c.apiUrl),
        { agent, headers: { Accept: "application/json" } },
        (res) => {
          const headMs = performance.now() - t0;
          const failed = (body: string) =>
            new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
          if (res.statusCode !== 200 && opts.headersOnly) {
            res.destroy();
            reject(failed(""));
            return;
          }
          if (opts.headersOnly) {
            res.destroy();
            resolve({ headMs, ms: headMs, bytes: 0, body: "" });
            return;
          }
          // The list of all pods is ~270 MB at full size: count it unless it is needed.
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on("data", (d: Buffer) => {
            bytes += d.length;
            if (!opts.countOnly || res.statusCode !== 200) chunks.push(d);
          });
          res.on("end", () => {
            const body = Buffer.concat(chunks);
            // A list too large to encode once came back as a 500 Status: never a figure.
            if (res.statusCode !== 200) return reject(failed(body.toString()));
            resolve({
              headMs,
              ms: performance.now() - t0,
              bytes,
              body: body.toString(),
            });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  return { client, get };
}

async function pool<T>(
  items: readonly T[],
  width: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const refOf = (o: KubeObject): ResourceRef =>
  o.kind === "Service"
    ? REFS.services
    : o.kind === "Deployment"
      ? REFS.deployments
      : REFS.statefulsets;

// ---- one run --------------------------------------------------------------------------------

interface Figures {
  services: number;
  pods: number;
  nodes: number;
  createS: number;
  readyS: number;
  /** CPU seconds the cluster process spent from start until everything was ready. */
  cpuS: number;
  rssMiB: number;
  /** After a full garbage collection: the process, and the JS heap alone. */
  rssAfterGcMiB: number;
  heapAfterGcMiB: number;
  storeMiB: number;
  listAllMs: number;
  listAllMiB: number;
  listNsMs: number;
  getP50: number;
  getP99: number;
  watchP50: number;
  dnsHeadlessP50: number;
  dnsHeadlessP99: number;
  dnsClusterIPP50: number;
  dnsClusterIPP99: number;
  restart?: { stopS: number; startS: number; readyS: number };
}

const storeBytes = (dir: string) =>
  ["state.db", "state.db-wal", "state.db-shm"].reduce((sum, f) => {
    try {
      return sum + statSync(join(dir, f)).size;
    } catch {
      return sum;
    }
  }, 0);

async function waitAllReady(h: Http, w: Workload, since: number, pollMs: number): Promise<void> {
  for (;;) {
    const [deps, stss] = await Promise.all([
      h.client.list(REFS.deployments, ""),
      h.client.list(REFS.statefulsets, ""),
    ]);
    const ready = [...deps.items, ...stss.items].reduce(
      (n, o) =>
        n + (((o.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) as number),
      0,
    );
    log(`ready pods ${ready}/${w.pods} after ${((performance.now() - since) / 1000).toFixed(0)} s`);
    if (ready >= w.pods) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  for (;;) {
    const slices = await h.client.list(REFS.endpointslices, "");
    let endpoints = 0;
    for (const s of slices.items) {
      if (!s.metadata.labels?.["kubernetes.io/service-name"]?.match(/^(big|s\d+)$/)) continue;
      if (!s.metadata.namespace?.startsWith("scale-")) continue;
      for (const e of (s as { endpoints?: Array<{ conditions?: { ready?: boolean } }> })
        .endpoints ?? [])
        if (e.conditions?.ready) endpoints++;
    }
    log(`ready endpoints in slices ${endpoints}/${w.pods}`);
    if (endpoints >= w.pods) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function measure(c: Running, h: Http, w: Workload, f: Partial<Figures>): Promise<void> {
  const mem = await ask<{ rss: number; rssAfterGc: number; heapAfterGc: number }>(
    c,
    { memory: true },
    "memory",
  );
  f.rssMiB = mem.rss / 2 ** 20;
  f.rssAfterGcMiB = mem.rssAfterGc / 2 ** 20;
  f.heapAfterGcMiB = mem.heapAfterGc / 2 ** 20;
  f.storeMiB = storeBytes(c.dir) / 2 ** 20;
  const all: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await h.get("/api/v1/pods", { countOnly: true });
    all.push(r.ms);
    f.listAllMiB = r.bytes / 2 ** 20;
  }
  f.listAllMs = percentile(all, 50);
  const ns: number[] = [];
  let rv = "";
  for (let i = 0; i < 10; i++) {
    const r = await h.get(`/api/v1/namespaces/${w.namespaces[0]}/pods`);
    ns.push(r.ms);
    rv = (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  }
  f.listNsMs = percentile(ns, 50);
  const gets: number[] = [];
  for (let i = 0; i < 300; i++)
    gets.push((await h.get(`/api/v1/namespaces/${w.namespaces[0]}/pods/big-${i % BIG}`)).ms);
  f.getP50 = percentile(gets, 50);
  f.getP99 = percentile(gets, 99);
  const watches: number[] = [];
  for (let i = 0; i < 10; i++)
    watches.push(
      (
        await h.get(`/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, {
          headersOnly: true,
        })
      ).headMs,
    );
  f.watchP50 = percentile(watches, 50);
  const zone = "svc.cluster.local";
  const headless: number[] = [];
  const cip: number[] = [];
  for (let i = 0; i < 300; i++) {
    const nsName = w.namespaces[i % w.namespaces.length];
    let t0 = performance.now();
    const a = await queryTcp(c.dns, `big.${nsName}.${zone}`);
    headless.push(performance.now() - t0);
    if (a.rcode !== 0 || a.answers !== BIG)
      throw new Error(`headless answer: ${JSON.stringify(a)}`);
    t0 = performance.now();
    const b = await queryUdp(c.dns, `s1.${nsName}.${zone}`);
    cip.push(performance.now() - t0);
    if (b.rcode !== 0 || b.answers !== 1) throw new Error(`ClusterIP answer: ${JSON.stringify(b)}`);
  }
  f.dnsHeadlessP50 = percentile(headless, 50);
  f.dnsHeadlessP99 = percentile(headless, 99);
  f.dnsClusterIPP50 = percentile(cip, 50);
  f.dnsClusterIPP99 = percentile(cip, 99);
}

async function podIds(h: Http): Promise<Map<string, string>> {
  const list = await h.client.list(REFS.pods, "");
  return new Map(
    list.items.map((p) => [
      `${p.metadata.namespace}/${p.metadata.name}`,
      (p.status as { containerStatuses?: Array<{ containerID?: string }> } | undefined)
        ?.containerStatuses?.[0]?.containerID ?? "",
    ]),
  );
}

async function run(services: number, restart: boolean): Promise<Figures> {
  const w = workload(services);
  const nodes = Math.ceil((w.pods / 110) * 1.05);
  const dir = mkdtempSync(join(tmpdir(), "loopkube-scale-"));
  const pollMs = w.pods > 20_000 ? 10_000 : 2_000;
  log(
    `run: ${w.services} Services (${w.clusterIPs} ClusterIP), ${w.pods} pods, ${nodes} nodes, in ${w.namespaces.length} namespaces`,
  );
  let c = await startChild(dir, nodes);
  const f: Partial<Figures> = { services: w.services, pods: w.pods, nodes };
  try {
    let h = http(c);
    if (profileDir) await ask(c, { profile: "start" }, "profiled");
    const t0 = performance.now();
    await pool(w.namespaces, 8, async (ns) => {
      await h.client.create(REFS.namespaces, "", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
    });
    await pool(w.objects, 32, async (o) => {
      await h.client.create(refOf(o), o.metadata.namespace ?? "", o);
    });
    f.createS = (performance.now() - t0) / 1000;
    log(`created ${w.objects.length} objects in ${f.createS.toFixed(1)} s`);
    await waitAllReady(h, w, t0, pollMs);
    f.readyS = (performance.now() - t0) / 1000;
    f.cpuS = await ask<number>(c, { cpu: true }, "cpu");
    if (profileDir) {
      const path = join(profileDir, `scale-${services}.cpuprofile`);
      await ask(c, { profile: "stop", path }, "profiled");
      log(`profile: ${path}`);
    }
    await measure(c, h, w, f);
    log(`figures: ${JSON.stringify(f)}`);
    if (heapDir) {
      const path = join(heapDir, `scale-${services}.heapsnapshot`);
      await ask(c, { heapSnapshot: path }, "heapSnapshot");
      log(`heap snapshot: ${path} (summarise: node bench/scale/heap-summary.ts ${path})`);
    }
    if (restart) {
      const before = await podIds(h);
      let t = performance.now();
      await stopChild(c);
      const stopS = (performance.now() - t) / 1000;
      t = performance.now();
      c = await startChild(dir, nodes);
      const startS = (performance.now() - t) / 1000;
      h = http(c);
      for (;;) {
        const now = await podIds(h);
        let fresh = 0;
        for (const [k, id] of now) if (id && id !== before.get(k)) fresh++;
        log(`restart: ${fresh}/${w.pods} pods running again`);
        if (fresh >= w.pods) break;
        await new Promise((r) => setTimeout(r, pollMs));
      }
      const readyAgain = (performance.now() - t) / 1000;
      await waitAllReady(h, w, t, pollMs);
      f.restart = { stopS, startS, readyS: Math.max(readyAgain, (performance.now() - t) / 1000) };
      log(`restart: ${JSON.stringify(f.restart)}`);
    }
    return f as Figures;
  } finally {
    await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main -----------------------------------------------------------------------------------

const result = startResult("scale", { quick });
const small = await run(10, false);
const big = await run(fullServices, doRestart);
const size = `${big.services} Services, ${big.pods} pods, ${big.nodes} nodes`;
const base = "measured: the same run at 10 Services";
const lines: Line[] = [
  {
    measure: "scale: create objects through the API",
    value: big.createS,
    unit: "s",
    better: "lower",
    detail: size,
  },
  {
    measure: "scale: until all pods Ready and slices complete",
    value: big.readyS,
    unit: "s",
    better: "lower",
    detail: `from the first create; ${size}`,
  },
  {
    measure: "scale: CPU time of the cluster process until ready",
    value: big.cpuS,
    unit: "s",
    better: "lower",
    detail: `${((big.cpuS / big.pods) * 1000).toFixed(1)} ms per pod (${((small.cpuS / small.pods) * 1000).toFixed(1)} at 10 Services); wall time depends on the machine's load`,
  },
  {
    measure: "scale: RSS of the cluster process",
    value: big.rssMiB,
    unit: "MiB",
    better: "lower",
    detail: `${small.rssMiB.toFixed(0)} MiB at 10 Services; as found when all is ready, garbage included`,
    aim: 4096,
  },
  {
    measure: "scale: RSS after a full garbage collection",
    value: big.rssAfterGcMiB,
    unit: "MiB",
    better: "lower",
    detail: `JS heap ${big.heapAfterGcMiB.toFixed(0)} MiB (${(((big.heapAfterGcMiB - small.heapAfterGcMiB) * 2 ** 20) / (big.pods - small.pods) / 1024).toFixed(1)} KiB per pod over the 10-Service run); ${small.rssAfterGcMiB.toFixed(0)} MiB at 10 Services`,
    aim: 4096,
  },
  {
    measure: "scale: store size on disk (SQLite + WAL)",
    value: big.storeMiB,
    unit: "MiB",
    better: "lower",
    detail: `${small.storeMiB.toFixed(1)} MiB at 10 Services`,
  },
  {
    measure: "scale: list all pods (HTTPS, JSON)",
    value: big.listAllMs,
    unit: "ms",
    better: "lower",
    detail: `${big.pods} pods, ${big.listAllMiB.toFixed(0)} MiB; median of 3`,
  },
  {
    measure: "scale: list one namespace's pods",
    value: big.listNsMs,
    unit: "ms",
    better: "lower",
    detail: `${Math.min(1500, big.pods)} of ${big.pods} pods (367 at 10 Services); median of 10`,
    anchor: { value: small.listNsMs, source: base },
  },
  {
    measure: "scale: get one pod p99",
    value: big.getP99,
    unit: "ms",
    better: "lower",
    detail: `p50 ${big.getP50.toFixed(2)} ms; 300 gets`,
    anchor: { value: small.getP99, source: base },
  },
  {
    measure: "scale: watch start (all pods, from the current rv) p50",
    value: big.watchP50,
    unit: "ms",
    better: "lower",
    detail: "to the response headers",
    anchor: { value: small.watchP50, source: base },
  },
  {
    measure: "scale: DNS headless name, 250 A records, TCP p99",
    value: big.dnsHeadlessP99,
    unit: "ms",
    better: "lower",
    detail: `p50 ${big.dnsHeadlessP50.toFixed(2)} ms; new connection per query`,
    anchor: { value: small.dnsHeadlessP99, source: base },
  },
  {
    measure: "scale: DNS ClusterIP name, UDP p99",
    value: big.dnsClusterIPP99,
    unit: "ms",
    better: "lower",
    detail: `p50 ${big.dnsClusterIPP50.toFixed(2)} ms`,
    anchor: { value: small.dnsClusterIPP99, source: base },
  },
];
if (big.restart)
  lines.push({
    measure: "scale: restart on the same data dir until every pod runs again",
    value: big.restart.readyS,
    unit: "s",
    better: "lower",
    detail: `stop ${big.restart.stopS.toFixed(1)} s, start (readyz) ${big.restart.startS.toFixed(1)} s`,
  });
const path = result.done(lines);
for (const l of lines)
  console.log(
    `${l.measure.padEnd(64)} ${l.value.toFixed(2).padStart(10)} ${l.unit}  ${l.anchor ? `(10 Services: ${l.anchor.value.toFixed(2)})` : ""} ${l.detail ?? ""}`,
  );
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}; result: ${path}`,
);
