/**
 * Issue #14's "Measure": the p99 of a probe GET (HTTPS, one kept-alive connection) and of a DNS
 * query (UDP, the cluster DNS) while (a) 3 MiB YAML bodies and (c) a 1,000-body fuzz run hit the
 * API server, against the same p99 at rest, as ratios (aim: within 5× and under 50 ms). The
 * cluster runs in its own process (bench/scale/_cluster.ts, simulated runtime); probes and load
 * come from this one. (b), `kubectl logs --tail=1` of a 100 MB log, belongs to the kubelet.
 *
 * Usage: node --import tsx bench/api/hostile.bench.ts [--quick] [--seconds N]
 *
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
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

interface Cluster {
  child: ChildProcess;
  dir: string;
  apiUrl: string;
  kubeconfigPath: string;
  dns: { host: string; port: number };
}

async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-hostile-"));
  const child = fork(join(here, "..", "scale", "_cluster.ts"), [dir, "1"], {
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

/** Probes GET and DNS back to back (5 ms apart) until `stop`; returns their latencies. */
async function probe(c: Cluster, tls: Parameters<typeof call>[1], stop: Promise<void>) {
  let done = false;
  void stop.then(() => {
    done = true;
  });
  const get: number[] = [];
  const dnsMs: number[] = [];
  const dns = dnsProbe(c.dns, "kubernetes.default.svc.cluster.local.");
  const loopGet = async () => {
    while (!done) {
      const t = performance.now();
      await call(c.apiUrl, tls, { method: "GET", path: "/api/v1/namespaces/default" });
      get.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
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
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all([loopGet(), loopDns()]);
  dns.close();
  return { get, dns: dnsMs };
}

function yamlBody(): string {
  const pairs: string[] = [];
  let size = 0;
  for (let i = 0; size < 3 * 1024 * 1024 - 200; i++) {
    const p = `k${i}: v${i}`;
    pairs.push(p);
    size += p.length + 2;
  }
  return `metadata:\n  name: big\ndata: {${pairs.join(", ")}}\n`;
}

const c = await startCluster();
const creds = credentials(c.kubeconfigPath);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const tls = { ...creds, agent };
const loadTls = { ...creds, agent: new Agent({ keepAlive: true, maxSockets: 8 }) };
await call(c.apiUrl, tls, {
  method: "POST",
  path: "/api/v1/namespaces",
  body: JSON.stringify({ metadata: { name: NS } }),
  contentType: "application/json",
});
const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

const rest = await probe(c, tls, sleep(SECONDS));

// (a) 3 MiB YAML bodies, one after another, for the same time.
const body = yamlBody();
let aCount = 0;
const aCodes = new Map<number, number>();
const aProbes = await probe(
  c,
  tls,
  (async () => {
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      const code = await call(c.apiUrl, loadTls, {
        method: "POST",
        path: "/api/v1/namespaces/default/configmaps",
        body,
        contentType: "application/yaml",
      });
      aCodes.set(code, (aCodes.get(code) ?? 0) + 1);
      aCount++;
    }
  })(),
);

// (c) a 1,000-body fuzz run, 8 in flight.
const rng = prng(14);
const kinds = RESOURCES.filter((r) => r.verbs.includes("create") && r.kind !== "Namespace");
let next = 0;
const cCodes = new Map<number, number>();
const cStarted = performance.now();
const cProbes = await probe(
  c,
  tls,
  Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 1000) {
        const req = generate(rng, kinds, next++);
        const code = await call(c.apiUrl, loadTls, req).catch(() => 0);
        cCodes.set(code, (cCodes.get(code) ?? 0) + 1);
      }
    }),
  ).then(() => undefined),
);
const cSeconds = (performance.now() - cStarted) / 1000;

c.child.send("stop");
await new Promise((r) => c.child.once("exit", r));
rmSync(c.dir, { recursive: true, force: true });
agent.destroy();
loadTls.agent.destroy();

const r2 = (n: number) => Math.round(n * 100) / 100;
const lines: Line[] = [];
for (const [what, samples] of [
  ["probe GET", "get"],
  ["DNS query", "dns"],
] as const) {
  const restP99 = percentile(rest[samples], 99);
  for (const [phase, probes, detail] of [
    [
      "(a) 3 MiB YAML bodies",
      aProbes,
      `${aCount} bodies, answers ${JSON.stringify(Object.fromEntries(aCodes))}`,
    ],
    [
      "(c) 1,000-body fuzz run",
      cProbes,
      `${r2(cSeconds)} s, answers ${JSON.stringify(Object.fromEntries(cCodes))}`,
    ],
  ] as const) {
    const p99 = percentile(probes[samples], 99);
    lines.push({
      measure: `${what} p99 during ${phase}`,
      value: r2(p99),
      unit: "ms",
      better: "lower",
      detail: `${probes[samples].length} probes, p50 ${r2(percentile(probes[samples], 50))} ms, max ${r2(Math.max(...probes[samples]))} ms; ${detail}`,
      anchor: {
        value: r2(restP99),
        source: `measured: the same probe at rest (${rest[samples].length} probes)`,
      },
      aim: 50,
    });
  }
}
for (const l of lines) {
  const ratio = l.anchor ? r2(l.value / l.anchor.value) : Number.NaN;
  console.log(
    `${l.measure}: ${l.value} ms (at rest ${l.anchor?.value} ms, ×${ratio}) — ${l.detail}`,
  );
}
console.log(startResult("hostile", { quick }).done(lines));
