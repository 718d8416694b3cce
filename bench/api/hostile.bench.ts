/**
 * Issue #14, item 2: kubectl-like small requests (a GET and a small merge PATCH of one ConfigMap,
 * one at a time on a kept-alive HTTPS connection, as kubectl sends them) and a DNS query, their
 * p50 and p99 at rest (the control) and while other clients send, 4 at a time, (a) 3 MiB YAML
 * flow-mapping ConfigMaps, (b) server-side apply PATCH bodies (a 2.9 MiB one kube refuses and a
 * valid 256 KiB one, in turn), (c) a 1,000-body fuzz run (8 at a time). Ratios are against the
 * control (aim: p99 within 5× of it and under 50 ms). By default it runs twice, side by side: with
 * the API server's body workers and without (`bodyWorkers: 0`, every body parsed on the event
 * loop, as before). The cluster runs in its own process (bench/scale/_cluster.ts, simulated
 * runtime); probes and load come from this one. `kubectl logs --tail=1` of a 100 MB log (the
 * issue's other (b)) is bench/kubelet/logs-load.bench.ts.
 *
 * Usage: node --import tsx bench/api/hostile.bench.ts [--quick] [--seconds N] [--workers-only]
 *   [--cpu-prof DIR]
 *
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { RESOURCES } from "../../src/apiserver/resources.ts";
import { generate, NS, prng } from "../../test/_fuzz.ts";
import { type Line, percentile, startResult } from "../_result.ts";
import { dnsProbe } from "../latency/_probes.ts";

const quick = process.argv.includes("--quick");
const secondsArg = process.argv.indexOf("--seconds");
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : quick ? 4 : 10;
const here = dirname(fileURLToPath(import.meta.url));
const profArg = process.argv.indexOf("--cpu-prof");
const PROFILE_DIR = profArg > 0 ? process.argv[profArg + 1] : undefined;
const WORKERS_ONLY = process.argv.includes("--workers-only");

interface Cluster {
  child: ChildProcess;
  dir: string;
  apiUrl: string;
  kubeconfigPath: string;
  dns: { host: string; port: number };
}

async function startCluster(bodyWorkers: number | undefined): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-hostile-"));
  const args = [dir, "1", ...(bodyWorkers === undefined ? [] : [String(bodyWorkers)])];
  const child = fork(join(here, "..", "scale", "_cluster.ts"), args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`cluster process exited ${code}`)));
    child.once("message", (m) => resolve({ child, dir, ...(m as Omit<Cluster, "child" | "dir">) }));
  });
}

function credentials(kubeconfigPath: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const kc = parse(readFileSync(kubeconfigPath, "utf8")) as {
    clusters: Array<{ cluster: Record<string, string> }>;
    users: Array<{ user: Record<string, string> }>;
  };
  const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64");
  return {
    ca: b64(kc.clusters[0]?.cluster["certificate-authority-data"]),
    cert: b64(kc.users[0]?.user["client-certificate-data"]),
    key: b64(kc.users[0]?.user["client-key-data"]),
  };
}

function call(
  url: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer; agent: Agent },
  req: { method: string; path: string; body?: string | Buffer; contentType?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(
      new URL(req.path, url),
      {
        method: req.method,
        ...tls,
        headers: req.contentType ? { "Content-Type": req.contentType } : {},
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

type Tls = Parameters<typeof call>[1];
const PROBE_CM = `/api/v1/namespaces/${NS}/configmaps/probe`;

/**
 * kubectl-like requests (GET, then a small merge PATCH of the same ConfigMap) and DNS queries,
 * each one at a time, 5 ms apart, until `stop`; their latencies.
 */
async function probe(c: Cluster, tls: Tls, stop: Promise<void>) {
  let done = false;
  void stop.then(() => {
    done = true;
  });
  const get: number[] = [];
  const patch: number[] = [];
  const dnsMs: number[] = [];
  const dns = dnsProbe(c.dns, "kubernetes.default.svc.cluster.local.");
  const pause = () => new Promise((r) => setTimeout(r, 5));
  let n = 0;
  const loopApi = async () => {
    while (!done) {
      let t = performance.now();
      await call(c.apiUrl, tls, { method: "GET", path: PROBE_CM });
      get.push(performance.now() - t);
      await pause();
      t = performance.now();
      await call(c.apiUrl, tls, {
        method: "PATCH",
        path: PROBE_CM,
        body: JSON.stringify({ metadata: { annotations: { n: String(n++) } } }),
        contentType: "application/merge-patch+json",
      });
      patch.push(performance.now() - t);
      await pause();
    }
  };
  const loopDns = async () => {
    while (!done) {
      const t = performance.now();
      try {
        await dns.once();
        dnsMs.push(performance.now() - t);
      } catch {
        dnsMs.push(1000);
      }
      await pause();
    }
  };
  await Promise.all([loopApi(), loopDns()]);
  dns.close();
  return { get, patch, dns: dnsMs };
}

/** A ConfigMap whose data is one YAML flow mapping of about `bytes` bytes. */
function flowMapping(name: string, bytes: number): string {
  const pairs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const p = `k${i}: v${i}`;
    pairs.push(p);
    size += p.length + 2;
  }
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata: {${pairs.join(", ")}}\n`;
}

/** A valid ConfigMap of about `bytes` bytes as block YAML, as `kubectl apply --server-side` sends. */
function blockYaml(name: string, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const l = `  key-${i}: value-${i}-${"x".repeat(40)}`;
    lines.push(l);
    size += l.length + 1;
  }
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${lines.join("\n")}\n`;
}

const BIG_YAML = flowMapping("big", 3 * 1024 * 1024 - 300);
const SSA_REFUSED = flowMapping("ssa", 2.9 * 1024 * 1024);
const SSA_VALID = blockYaml("ssa-valid", 256 * 1024);

const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

/** `senders` clients sending `next()`'s request back to back for SECONDS; answers by status. */
async function flood(
  c: Cluster,
  tls: Tls,
  senders: number,
  next: (i: number) => Parameters<typeof call>[2],
  codes: Map<number, number>,
): Promise<void> {
  const end = performance.now() + SECONDS * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (performance.now() < end) {
        const code = await call(c.apiUrl, tls, next(i++)).catch(() => 0);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
}

type Samples = Awaited<ReturnType<typeof probe>>;
interface PhaseResult {
  name: string;
  samples: Samples;
  cpu: number;
  detail: string;
}

async function runMode(bodyWorkers: number | undefined, label: string): Promise<PhaseResult[]> {
  const c = await startCluster(bodyWorkers);
  const creds = credentials(c.kubeconfigPath);
  const tls = { ...creds, agent: new Agent({ keepAlive: true, maxSockets: 1 }) };
  const loadTls = { ...creds, agent: new Agent({ keepAlive: true, maxSockets: 8 }) };
  await call(c.apiUrl, tls, {
    method: "POST",
    path: "/api/v1/namespaces",
    body: JSON.stringify({ metadata: { name: NS } }),
    contentType: "application/json",
  });
  await call(c.apiUrl, tls, {
    method: "POST",
    path: `/api/v1/namespaces/${NS}/configmaps`,
    body: JSON.stringify({ metadata: { name: "probe" }, data: { a: "1" } }),
    contentType: "application/json",
  });

  function ask(m: object): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      c.child.once("message", (r) => resolve(r as Record<string, unknown>));
      c.child.send(m);
    });
  }
  const results: PhaseResult[] = [];
  async function phase(name: string, load: () => Promise<string>): Promise<void> {
    const file = `${bodyWorkers === 0 ? "noworkers" : "workers"}-${name.slice(0, 3)}`;
    if (PROFILE_DIR) await ask({ profile: "start" });
    const before = (await ask({ cpu: true }))["cpu"] as number;
    let detail = "";
    const samples = await probe(
      c,
      tls,
      load().then((d) => {
        detail = d;
      }),
    );
    const after = (await ask({ cpu: true }))["cpu"] as number;
    if (PROFILE_DIR) {
      await ask({ profile: "stop", path: join(PROFILE_DIR, `${file}.cpuprofile`) });
    }
    results.push({ name, samples, cpu: after - before, detail });
    console.error(`[${label}] ${name} done`);
  }

  const codesText = (m: Map<number, number>) => JSON.stringify(Object.fromEntries(m));
  await phase("control (at rest)", async () => {
    await sleep(SECONDS);
    return "";
  });
  await phase("(a) 3 MiB YAML flow mappings", async () => {
    const codes = new Map<number, number>();
    await flood(
      c,
      loadTls,
      4,
      () => ({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/configmaps`,
        body: BIG_YAML,
        contentType: "application/yaml",
      }),
      codes,
    );
    return `answers ${codesText(codes)}`;
  });
  await phase("(b) server-side apply PATCH bodies", async () => {
    const codes = new Map<number, number>();
    await flood(
      c,
      loadTls,
      4,
      (i) => ({
        method: "PATCH",
        path: `/api/v1/namespaces/${NS}/configmaps/${i % 2 ? "ssa-valid" : "ssa"}?fieldManager=bench&force=true`,
        body: i % 2 ? SSA_VALID : SSA_REFUSED,
        contentType: "application/apply-patch+yaml",
      }),
      codes,
    );
    return `answers ${codesText(codes)}`;
  });
  await phase("(c) 1,000-body fuzz run", async () => {
    const rng = prng(14);
    const kinds = RESOURCES.filter((r) => r.verbs.includes("create") && r.kind !== "Namespace");
    let next = 0;
    const codes = new Map<number, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 1000) {
          const code = await call(c.apiUrl, loadTls, generate(rng, kinds, next++)).catch(() => 0);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    return `${r2((performance.now() - started) / 1000)} s, answers ${codesText(codes)}`;
  });

  c.child.send("stop");
  await new Promise((r) => c.child.once("exit", r));
  rmSync(c.dir, { recursive: true, force: true });
  tls.agent.destroy();
  loadTls.agent.destroy();
  return results;
}

const r2 = (n: number) => Math.round(n * 100) / 100;
const load0 = loadavg().map(r2);
const modes: Array<[number | undefined, string]> = [[undefined, "body workers"]];
if (!WORKERS_ONLY) modes.push([0, "no body workers (event loop)"]);
const byMode: Array<[string, PhaseResult[]]> = [];
for (const [workers, label] of modes) byMode.push([label, await runMode(workers, label)]);
const load1 = loadavg().map(r2);

const lines: Line[] = [];
const table: string[] = [
  "| server | probe | load | p50 ms | p99 ms | p99 ÷ control | samples | cluster CPU s |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const [label, phases] of byMode) {
  const control = phases[0]!;
  for (const [what, key] of [
    ["GET configmap", "get"],
    ["small PATCH", "patch"],
    ["DNS query", "dns"],
  ] as const) {
    const controlP99 = percentile(control.samples[key], 99);
    for (const p of phases) {
      const xs = p.samples[key];
      const p50 = percentile(xs, 50);
      const p99 = percentile(xs, 99);
      table.push(
        `| ${label} | ${what} | ${p.name} | ${r2(p50)} | ${r2(p99)} | ×${r2(p99 / controlP99)} | ${xs.length} | ${r2(p.cpu)} |`,
      );
      if (p === control || label !== modes[0]![1]) continue;
      lines.push({
        measure: `${what} p99 during ${p.name}`,
        value: r2(p99),
        unit: "ms",
        better: "lower",
        detail: `${xs.length} probes, p50 ${r2(p50)} ms, max ${r2(Math.max(...xs))} ms; ${p.detail}`,
        anchor: {
          value: r2(controlP99),
          source: `measured: the same probe at rest (${control.samples[key].length} probes)`,
        },
        aim: 50,
      });
    }
  }
  for (const p of phases) if (p.detail) console.log(`${label}, ${p.name}: ${p.detail}`);
}
console.log(
  `load average (1, 5, 15 min): at start ${load0.join(", ")}; at end ${load1.join(", ")}`,
);
console.log(table.join("\n"));
console.log(startResult("hostile", { quick }).done(lines));
