/**
 * API server benchmark (issue 2, "Measure"): creates/s, gets/s, list latency, p50/p99 of the
 * mutating verbs, watch fan-out latency and the server's memory, over HTTPS with keep-alive and
 * the admin client certificate, from a separate process.
 *
 * The server runs in a child process (`_server.ts`), once over the SQLite store (the default,
 * durable backend, in a temporary data dir) and once over the memory store. The load generator
 * runs here; each phase also records the CPU the server and the loader used, as a share of one
 * core, because on a 2-core machine a rate is only meaningful next to who was saturated.
 * With `wrk` installed, gets/s is also measured by wrk (bearer token, as wrk cannot present a
 * client certificate), a loader much cheaper than Node's HTTPS client.
 *
 * Last, the same gets against a bare Node HTTPS server with the same TLS settings (`bare`): the
 * ceiling any Node HTTPS server reaches on this machine, to read the API server's figure against.
 *
 * Run:  node --import tsx bench/api/api.bench.ts [--quick] [--backend sqlite|memory|bare]
 *       [--cpu-prof]   (the server profiles each measured phase alone, through the inspector, into
 *       .bench-results/prof/<backend>/<phase>.cpuprofile; summarise one with profile-summary.ts)
 * Prints one table and writes `.bench-results/api.json` (the summary lines, bench/_result.ts)
 * and `api-detail.json` (every row with its percentiles and CPU shares). `--quick` (SQLite and
 * the ceiling only, smaller counts, lists of 2,000 instead of 10,000) takes < 30 s on a quiet
 * machine, the full run < 3 min.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Line, startResult } from "../_result.ts";
import { type Client, type Credentials, createClient, type LoadResult, runLoad } from "./_load.ts";
import { configMap, pod } from "./_objects.ts";
import { machine, ms, type Row, rate, table } from "./_report.ts";
import { measureFanout } from "./_watch.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    backend: { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const quick = values.quick;
// --quick lists 2,000 instead of 10,000 objects: filling 10,000 alone would take most of its budget.
const SIZE = quick
  ? {
      creates: 400,
      pods: 200,
      getSeconds: 1,
      mutations: 150,
      list1k: 10,
      list10k: 5,
      writes: 40,
      big: 2000,
      warm: 200,
    }
  : {
      creates: 3000,
      pods: 1500,
      getSeconds: 3,
      mutations: 800,
      list1k: 40,
      list10k: 10,
      writes: 300,
      big: 10_000,
      warm: 1000,
    };
const TARGET = { creates: 2000, gets: 10_000, mutatingP99: 10 };
const WATCHERS = 10;
const BIG = SIZE.big;
const SMALL = 1_000;

interface Server {
  child: ChildProcess;
  url: string;
  pki: Credentials & { token: string };
  dir: string;
  backend: string;
}

async function startServer(backend: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-apibench-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "_server.ts"), backend, dir],
    { stdio: ["ignore", "inherit", "inherit", "ipc"], cwd: root },
  );
  const ready = await new Promise<{ url: string; pki: Server["pki"] }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { url: string; pki: Server["pki"] }));
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before it was ready`)));
  });
  return { child, dir, backend, ...ready };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((resolve) => s.child.once("exit", resolve));
  s.child.send("stop");
  await exited;
  rmSync(s.dir, { recursive: true, force: true });
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** CPU seconds in user mode and in the kernel (system calls: socket I/O, SQLite's writes). */
function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function memory(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
}

/** Sends `msg` to the server process and resolves with its next message. */
function ask(s: Server, msg: object): Promise<unknown> {
  return new Promise((resolve) => {
    s.child.once("message", resolve);
    s.child.send(msg);
  });
}

/**
 * Runs a load phase and adds the server's CPU share (of one core) to its result; with
 * `--cpu-prof`, the server profiles exactly this phase.
 */
async function phase(
  s: Server,
  name: string,
  run: () => Promise<LoadResult>,
): Promise<LoadResult & { serverCpu: number; serverSys: number }> {
  const pid = s.child.pid ?? 0;
  if (values["cpu-prof"]) await ask(s, { profile: "start" });
  const c0 = cpuTimes(pid);
  const r = await run();
  const c1 = cpuTimes(pid);
  const serverCpu = (c1.user + c1.system - c0.user - c0.system) / r.seconds;
  const serverSys = (c1.system - c0.system) / r.seconds;
  if (values["cpu-prof"]) {
    const path = join(root, ".bench-results", "prof", s.backend, `${name}.cpuprofile`);
    mkdirSync(dirname(path), { recursive: true });
    await ask(s, { profile: "stop", path });
  }
  return { ...r, serverCpu, serverSys };
}

function loadDetail(
  r: LoadResult & { serverCpu: number; serverSys?: number },
): Record<string, number> {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    ops: r.ops,
    seconds: round(r.seconds),
    perSecond: round(r.perSecond),
    p50: round(r.p50),
    p99: round(r.p99),
    max: round(r.max),
    serverCpu: round(r.serverCpu),
    serverKernelShare: round((r.serverSys ?? 0) / r.serverCpu),
    serverCpuMicrosPerCall: round((r.serverCpu / r.perSecond) * 1e6),
    perCoreCeiling: round(r.perSecond / r.serverCpu),
    loaderCpu: round(r.loaderCpu),
  };
}

/**
 * The server's CPU share and its CPU time per call. On a shared machine the rate depends on the
 * neighbours; CPU per call does much less, and 1 / (CPU per call) is the rate one whole core
 * would sustain (the server is one event loop: one core is its ceiling).
 */
function cpuNote(r: { serverCpu: number; serverSys?: number; perSecond: number }): string {
  const perOp = r.serverCpu / r.perSecond;
  const kernel =
    r.serverSys !== undefined
      ? ` (${Math.round((100 * r.serverSys) / r.serverCpu)} % in kernel)`
      : "";
  return `server CPU ${Math.round(r.serverCpu * 100)} %${kernel}, ${Math.round(perOp * 1e6)} µs/call → ${rate(1 / perOp)} per core`;
}

function rateRow(
  backend: string,
  measure: string,
  r: LoadResult & { serverCpu: number; serverSys?: number },
  target?: number,
): Row {
  return {
    backend,
    measure,
    value: r.perSecond,
    unit: "/s",
    figure: `${rate(r.perSecond)}, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}; ${cpuNote(r)}`,
    ...(target ? { target: { kind: "min" as const, value: target } } : {}),
    detail: loadDetail(r),
  };
}

function latencyRow(
  backend: string,
  measure: string,
  r: LoadResult & { serverCpu: number; serverSys?: number },
  target?: number,
): Row {
  return {
    backend,
    measure,
    value: r.p99,
    unit: "ms",
    figure: `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, ${rate(r.perSecond)}; ${cpuNote(r)}`,
    ...(target ? { target: { kind: "max" as const, value: target } } : {}),
    detail: loadDetail(r),
  };
}

const cmPath = (ns: string, name?: string) =>
  `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ""}`;

async function createNamespaces(client: Client, names: string[]): Promise<void> {
  for (const name of names) {
    await client.call("POST", "/api/v1/namespaces", {
      body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
    });
  }
}

/** gets/s measured by wrk over keep-alive HTTPS, when wrk is installed. */
function wrkGets(
  s: Server,
  path: string,
  seconds: number,
): { perSecond: number; p50: number; p99: number } | undefined {
  if (spawnSync("sh", ["-c", "command -v wrk"]).status !== 0) return undefined;
  const out = spawnSync(
    "wrk",
    [
      "-t1",
      "-c64",
      `-d${Math.ceil(seconds)}s`,
      "--latency",
      "-H",
      `Authorization: Bearer ${s.pki.token}`,
      `${s.url}${path}`,
    ],
    { encoding: "utf8" },
  ).stdout;
  const toMs = (v: string, u: string) => Number(v) * (u === "us" ? 0.001 : u === "s" ? 1000 : 1);
  const pct = (q: string) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1] ?? "0", m[2] ?? "ms") : Number.NaN;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (!rps || non2xx) throw new Error(`wrk: ${out}`);
  return { perSecond: Number(rps[1]), p50: pct("50"), p99: pct("99") };
}

/** gets/s against the bare HTTPS server: what TLS + HTTP alone cost in Node, the ceiling. */
async function benchBare(): Promise<Row[]> {
  const s = await startServer("bare");
  const rows: Row[] = [];
  const clients = [
    createClient(s.url, s.pki, { sockets: 16 }),
    createClient(s.url, s.pki, { sockets: 64 }),
  ] as const;
  try {
    for (const [conc, client] of [
      [16, clients[0]],
      [64, clients[1]],
    ] as const) {
      await runLoad(() => client.call("GET", "/"), { concurrency: conc, count: 2 * SIZE.warm });
      const r = await phase(s, `bare-get-c${conc}`, () =>
        runLoad(() => client.call("GET", "/"), { concurrency: conc, seconds: SIZE.getSeconds }),
      );
      rows.push(rateRow("bare https", `get fixed ConfigMap, c=${conc}`, r, TARGET.gets));
    }
    const w = wrkRow(s, "/", "bare https");
    if (w) rows.push(w);
  } finally {
    for (const c of clients) c.close();
    await stopServer(s);
  }
  return rows;
}

function wrkRow(s: Server, path: string, backend: string): Row | undefined {
  const c0 = cpuSeconds(s.child.pid ?? 0);
  const t0 = performance.now();
  const w = wrkGets(s, path, SIZE.getSeconds);
  if (!w) return undefined;
  const serverCpu = (cpuSeconds(s.child.pid ?? 0) - c0) / ((performance.now() - t0) / 1000);
  return {
    backend,
    measure: "get ConfigMap, c=64, wrk",
    value: w.perSecond,
    unit: "/s",
    figure: `${rate(w.perSecond)}, p50 ${ms(w.p50)}, p99 ${ms(w.p99)}; ${cpuNote({ serverCpu, perSecond: w.perSecond })}`,
    target: { kind: "min", value: TARGET.gets },
    detail: { ...w, serverCpu },
  };
}

async function benchBackend(backend: string): Promise<Row[]> {
  const s = await startServer(backend);
  const pid = s.child.pid ?? 0;
  const rows: Row[] = [];
  const c16 = createClient(s.url, s.pki, { sockets: 16 });
  const c64 = createClient(s.url, s.pki, { sockets: 64 });
  const one = createClient(s.url, s.pki, { sockets: 1 });
  try {
    await createNamespaces(one, [
      "bench-big",
      "bench-small",
      "bench-pods",
      "bench-mut",
      "bench-watch",
      "bench-warm",
    ]);
    // Warm-up: JIT and TLS sessions on every socket of both agents.
    await runLoad(
      (i) =>
        c64.call("POST", cmPath("bench-warm"), { body: configMap("bench-warm", `cm-${i}`, i) }),
      { concurrency: 64, count: SIZE.warm },
    );
    await runLoad(() => c16.call("GET", cmPath("bench-warm", "cm-0")), {
      concurrency: 16,
      count: 2 * SIZE.warm,
    });

    // Creates: small ConfigMaps into the 10,000 namespace (indices continue across phases).
    let next = 0;
    for (const [conc, client] of [
      [16, c16],
      [64, c64],
    ] as const) {
      const from = next;
      const r = await phase(s, `create-configmap-c${conc}`, () =>
        runLoad(
          (i) =>
            client.call("POST", cmPath("bench-big"), {
              body: configMap("bench-big", `cm-${from + i}`, from + i),
            }),
          { concurrency: conc, count: SIZE.creates },
        ),
      );
      next += r.ops;
      rows.push(rateRow(backend, `create ConfigMap, c=${conc}`, r, TARGET.creates));
    }
    const fill = next;
    await runLoad(
      (i) =>
        c64.call("POST", cmPath("bench-big"), {
          body: configMap("bench-big", `cm-${fill + i}`, fill + i),
        }),
      { concurrency: 64, count: BIG - fill },
    );
    await runLoad(
      (i) =>
        c64.call("POST", cmPath("bench-small"), { body: configMap("bench-small", `cm-${i}`, i) }),
      { concurrency: 64, count: SMALL },
    );

    const pods = await phase(s, "create-pod-c16", () =>
      runLoad(
        (i) =>
          c16.call("POST", `/api/v1/namespaces/bench-pods/pods`, {
            body: pod("bench-pods", `web-${i}`),
          }),
        { concurrency: 16, count: SIZE.pods },
      ),
    );
    rows.push(rateRow(backend, "create Pod (~2 KB), c=16", pods, TARGET.creates));

    // Gets of one object.
    for (const [conc, client] of [
      [16, c16],
      [64, c64],
    ] as const) {
      const r = await phase(s, `get-c${conc}`, () =>
        runLoad(() => client.call("GET", cmPath("bench-small", "cm-7")), {
          concurrency: conc,
          seconds: SIZE.getSeconds,
        }),
      );
      rows.push(rateRow(backend, `get ConfigMap, c=${conc}`, r, TARGET.gets));
    }
    const w = wrkRow(s, cmPath("bench-small", "cm-7"), backend);
    if (w) rows.push(w);

    // Lists, one at a time (latency, not throughput), whole namespace and a tenth by label.
    for (const [ns, n, repeats] of [
      ["bench-small", SMALL, SIZE.list1k],
      ["bench-big", BIG, SIZE.list10k],
    ] as const) {
      for (const selector of ["", "?labelSelector=shard%3D3"]) {
        let bytes = 0;
        let items = 0;
        const r = await phase(s, `list-${n}${selector ? "-label" : ""}`, () =>
          runLoad(
            async () => {
              const reply = await one.call("GET", `${cmPath(ns)}${selector}`);
              if (!bytes) {
                bytes = reply.body.length;
                items = (JSON.parse(reply.body) as { items: unknown[] }).items.length;
              }
            },
            { concurrency: 1, count: repeats },
          ),
        );
        const want = selector ? n / 10 : n;
        if (items !== want) throw new Error(`list ${ns}${selector}: ${items} items, want ${want}`);
        const row = latencyRow(
          backend,
          `list ${n.toLocaleString("en-US")} ConfigMaps${selector ? " by label (1/10)" : ""}`,
          r,
        );
        rows.push({ ...row, detail: { ...row.detail, items, bytes } });
      }
    }

    // Mutating calls: latency alone (c=1) and under load (c=16). Each worker owns one object.
    for (const [conc, client] of [
      [1, one],
      [16, c16],
    ] as const) {
      const rvs: string[] = [];
      for (let w = 0; w < conc; w++) {
        const reply = await client.call("POST", cmPath("bench-mut"), {
          body: configMap("bench-mut", `own-${conc}-${w}`, w),
        });
        rvs[w] = (
          JSON.parse(reply.body) as { metadata: { resourceVersion: string } }
        ).metadata.resourceVersion;
      }
      const create = await phase(s, `create-c${conc}`, () =>
        runLoad(
          (i) =>
            client.call("POST", cmPath("bench-mut"), {
              body: configMap("bench-mut", `m-${conc}-${i}`, i),
            }),
          { concurrency: conc, count: SIZE.mutations },
        ),
      );
      rows.push(latencyRow(backend, `create, c=${conc}`, create, TARGET.mutatingP99));
      const update = await phase(s, `update-c${conc}`, () =>
        runLoad(
          async (i, w) => {
            const body = JSON.stringify({
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: {
                name: `own-${conc}-${w}`,
                namespace: "bench-mut",
                resourceVersion: rvs[w],
                labels: { app: "bench" },
              },
              data: { key: `update-${i}` },
            });
            const reply = await client.call("PUT", cmPath("bench-mut", `own-${conc}-${w}`), {
              body,
            });
            rvs[w] = (
              JSON.parse(reply.body) as { metadata: { resourceVersion: string } }
            ).metadata.resourceVersion;
          },
          { concurrency: conc, count: SIZE.mutations },
        ),
      );
      rows.push(
        latencyRow(
          backend,
          `update (PUT with resourceVersion), c=${conc}`,
          update,
          TARGET.mutatingP99,
        ),
      );
      for (const [kind, type, body] of [
        [
          "merge",
          "application/merge-patch+json",
          (i: number) => JSON.stringify({ data: { key: `merge-${i}` } }),
        ],
        [
          "strategic",
          "application/strategic-merge-patch+json",
          (i: number) => JSON.stringify({ metadata: { labels: { step: String(i) } } }),
        ],
      ] as const) {
        const r = await phase(s, `patch-${kind}-c${conc}`, () =>
          runLoad(
            (i, w) =>
              client.call("PATCH", cmPath("bench-mut", `own-${conc}-${w}`), {
                body: body(i),
                contentType: type,
              }),
            { concurrency: conc, count: SIZE.mutations },
          ),
        );
        rows.push(latencyRow(backend, `patch (${kind}), c=${conc}`, r, TARGET.mutatingP99));
      }
    }

    const f = await measureFanout(
      one,
      { url: s.url, creds: s.pki, ns: "bench-watch" },
      { watchers: WATCHERS, writes: SIZE.writes },
    );
    rows.push({
      backend,
      measure: `watch fan-out, ${WATCHERS} watchers (create sent → event read)`,
      value: f.allP99,
      unit: "ms",
      figure: `each: p50 ${ms(f.p50)}, p99 ${ms(f.p99)}; all ${WATCHERS}: p50 ${ms(f.allP50)}, p99 ${ms(f.allP99)}`,
      target: { kind: "max", value: TARGET.mutatingP99 },
      detail: { ...f },
    });

    const mem = memory(pid);
    rows.push({
      backend,
      measure: `server memory after the run (~${(BIG + SMALL + 2 * SIZE.mutations + SIZE.pods + SIZE.warm).toLocaleString("en-US")} objects)`,
      value: mem.rssMiB,
      unit: "MiB",
      figure: `RSS ${Math.round(mem.rssMiB)} MiB, peak (VmHWM) ${Math.round(mem.hwmMiB)} MiB`,
      detail: mem,
    });
  } finally {
    for (const c of [c16, c64, one]) c.close();
    await stopServer(s);
  }
  return rows;
}

const started = performance.now();
const at = machine();
const result = startResult("api", { quick });
const backends = values.backend
  ? [values.backend]
  : quick
    ? ["sqlite", "bare"]
    : ["sqlite", "memory", "bare"];
const rows: Row[] = [];
for (const b of backends) rows.push(...(b === "bare" ? await benchBare() : await benchBackend(b)));
const seconds = (performance.now() - started) / 1000;

console.log(table(rows));
console.log(
  `\n${at.nproc} CPUs (${at.cpu}), ${at.memTotalGiB} GiB, Node ${at.node}, load average ${at.loadavg.join(" ")} at start; ${quick ? "--quick, " : ""}${seconds.toFixed(0)} s`,
);
const out = join(root, ".bench-results");
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "api-detail.json"),
  `${JSON.stringify({ machine: at, quick, seconds, targets: TARGET, rows }, null, 2)}\n`,
);
// The summary for `npm run bench`: every figure of our server, the gets beside the bare Node
// HTTPS server measured in the same run (the ceiling of any Node HTTPS server here).
const bare = new Map(
  rows.filter((r) => r.backend === "bare").map((r) => [r.measure.replace("fixed ", ""), r]),
);
const lines: Line[] = rows
  .filter((r) => r.backend !== "bare")
  .map((r) => {
    const ceiling = bare.get(r.measure);
    return {
      measure: `API (${r.backend}): ${r.measure}`,
      value: r.value,
      unit: r.unit,
      better: r.unit === "/s" ? "higher" : "lower",
      detail: r.figure,
      ...(r.target ? { aim: r.target.value } : {}),
      ...(ceiling
        ? { anchor: { value: ceiling.value, source: "measured: bare Node HTTPS server, same TLS" } }
        : {}),
    };
  });
console.log(`wrote .bench-results/api-detail.json and ${result.done(lines)}`);
