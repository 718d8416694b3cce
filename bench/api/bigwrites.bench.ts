/**
 * Issue #14, item 2 ("bounded work per request on the event loop"): the API server's event-loop
 * time for VALID big writes — create (POST), update (PUT, every value changed), merge patch (half
 * the values changed) and server-side apply (creating the object, then re-applying it with every
 * value changed, then with half its keys left out, which prunes them) — of ConfigMaps and Secrets of 64 KiB, 256 KiB and 1 MiB, shaped as many small
 * keys or four big values; every write names a field manager, so managedFields are kept as
 * kubectl's writes keep them. Bodies over 64 KiB are parsed in the body workers, so the figure is
 * what remains on the event loop: decode, defaulting, validation, apply/ownership bookkeeping,
 * storing and the answer. Then the p50/p99 of a probe GET of a small ConfigMap at rest and while
 * two clients re-apply valid 256 KiB and 1 MiB ConfigMaps back to back.
 *
 * Each request is sent alone; the server process (bench/api/_bigwrites-server.ts) reports its
 * event loop's busy time (performance.eventLoopUtilization) around it; the median of the
 * repetitions is kept. With `--baseline REF` the same run first measures the API server of git
 * commit REF (its `src/` extracted under .bench-results/), side by side with this checkout's.
 *
 * Usage: node --import tsx bench/api/bigwrites.bench.ts [--quick] [--baseline REF]
 *   [--seconds N] [--cpu-prof DIR]
 *
 * @module
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Line, percentile, RESULTS_DIR, startResult } from "../_result.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    baseline: { type: "string" },
    seconds: { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const quick = args.quick ?? false;
const REPS = quick ? 1 : 2;
const SECONDS = args.seconds ? Number(args.seconds) : quick ? 4 : 10;
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, "..", "..");
const NS = "default";
const KiB = 1024;
const SIZES = quick ? [64 * KiB, 1024 * KiB] : [64 * KiB, 256 * KiB, 1024 * KiB];

interface Server {
  child: ChildProcess;
  dir: string;
  url: string;
  token: string;
  agent: Agent;
}

async function startServer(srcRoot: string, label: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-bigwrites-"));
  const prof = args["cpu-prof"];
  const execArgv = ["--import", "tsx"];
  if (prof) execArgv.push("--cpu-prof", "--cpu-prof-dir", join(prof, label));
  const child = fork(join(here, "_bigwrites-server.ts"), [srcRoot, dir], {
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server process exited ${code}`)));
    child.once("message", (m) => resolve(m as { url: string; token: string }));
  });
  return { child, dir, ...ready, agent: new Agent({ keepAlive: true, rejectUnauthorized: false }) };
}

async function stopServer(s: Server): Promise<void> {
  s.child.removeAllListeners("exit");
  const exited = new Promise((resolve) => s.child.once("exit", resolve));
  s.child.send({ stop: true });
  await exited;
  s.agent.destroy();
  rmSync(s.dir, { recursive: true, force: true });
}

/** The server's event-loop busy time since the previous mark. */
function mark(s: Server): Promise<number> {
  return new Promise((resolve) => {
    s.child.once("message", (m) => resolve((m as { busyMs: number }).busyMs));
    s.child.send({ mark: true });
  });
}

function send(
  s: Server,
  method: string,
  path: string,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.url}${path}`,
      {
        method,
        agent: s.agent,
        headers: {
          Authorization: `Bearer ${s.token}`,
          Accept: "application/json",
          ...(body === undefined
            ? {}
            : { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function ok(p: Promise<{ status: number; text: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
}

interface Shape {
  name: string;
  kind: "ConfigMap" | "Secret";
  /** Key count for a payload of `bytes`. */
  keys(bytes: number): number;
}

const SHAPES: Shape[] = [
  { name: "ConfigMap, many keys", kind: "ConfigMap", keys: (b) => Math.floor(b / 48) },
  { name: "ConfigMap, 4 big values", kind: "ConfigMap", keys: () => 4 },
  { name: "Secret, many keys", kind: "Secret", keys: (b) => Math.floor(b / 48) },
];

/** `data` of about `bytes` (values' version `v` differs in every value). */
function data(shape: Shape, bytes: number, v: number, only?: (i: number) => boolean) {
  const n = shape.keys(bytes);
  const valueLength = Math.max(1, Math.floor(bytes / n) - 16);
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    if (only && !only(i)) continue;
    const text = `${v}-${i}-`.padEnd(valueLength, "x");
    out[`key-${String(i).padStart(8, "0")}`] =
      shape.kind === "Secret" ? Buffer.from(text).toString("base64") : text;
  }
  return out;
}

function object(shape: Shape, name: string, bytes: number, v: number) {
  return {
    apiVersion: "v1",
    kind: shape.kind,
    metadata: { name, namespace: NS, labels: { app: "bigwrites" } },
    data: data(shape, bytes, v),
  };
}

function collection(kind: Shape["kind"]): string {
  return `/api/v1/namespaces/${NS}/${kind === "Secret" ? "secrets" : "configmaps"}`;
}

const VERBS = [
  "create",
  "update",
  "merge patch",
  "apply (create)",
  "apply (update)",
  "apply (drop half)",
] as const;
type Verb = (typeof VERBS)[number];

/** Event-loop ms per verb of one shape and size: the median of REPS runs. */
async function measureWrites(s: Server, shape: Shape, bytes: number): Promise<Map<Verb, number>> {
  const samples = new Map<Verb, number[]>(VERBS.map((v) => [v, []]));
  const q = "?fieldManager=bench";
  const applyQ = "?fieldManager=bench-apply&force=true";
  for (let rep = 0; rep < REPS; rep++) {
    const name = `big-${bytes}-${rep}-${Math.random().toString(36).slice(2, 8)}`;
    const coll = collection(shape.kind);
    const timed = async (verb: Verb, p: () => Promise<{ status: number; text: string }>) => {
      await mark(s);
      await ok(p(), `${shape.name} ${bytes} ${verb}`);
      samples.get(verb)?.push(await mark(s));
    };
    await timed("create", () =>
      send(s, "POST", `${coll}${q}`, JSON.stringify(object(shape, name, bytes, 1))),
    );
    await timed("update", () =>
      send(s, "PUT", `${coll}/${name}${q}`, JSON.stringify(object(shape, name, bytes, 2))),
    );
    await timed("merge patch", () =>
      send(
        s,
        "PATCH",
        `${coll}/${name}${q}`,
        JSON.stringify({ data: data(shape, bytes, 3, (i) => i % 2 === 0) }),
        "application/merge-patch+json",
      ),
    );
    const applied = `${name}-a`;
    await timed("apply (create)", () =>
      send(
        s,
        "PATCH",
        `${coll}/${applied}${applyQ}`,
        JSON.stringify(object(shape, applied, bytes, 1)),
        "application/apply-patch+yaml",
      ),
    );
    await timed("apply (update)", () =>
      send(
        s,
        "PATCH",
        `${coll}/${applied}${applyQ}`,
        JSON.stringify(object(shape, applied, bytes, 2)),
        "application/apply-patch+yaml",
      ),
    );
    const half = object(shape, applied, bytes, 2);
    half.data = data(shape, bytes, 2, (i) => i % 2 === 0);
    await timed("apply (drop half)", () =>
      send(
        s,
        "PATCH",
        `${coll}/${applied}${applyQ}`,
        JSON.stringify(half),
        "application/apply-patch+yaml",
      ),
    );
    await ok(send(s, "DELETE", `${coll}/${name}`), "delete");
    await ok(send(s, "DELETE", `${coll}/${applied}`), "delete");
  }
  return new Map(VERBS.map((v) => [v, percentile(samples.get(v) ?? [], 50)]));
}

/** Probe GETs one at a time for `ms`; their latencies. */
async function probe(s: Server, ms: number): Promise<number[]> {
  const path = `${collection("ConfigMap")}/probe`;
  const out: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t = performance.now();
    await ok(send(s, "GET", path), "probe");
    out.push(performance.now() - t);
  }
  return out;
}

async function measureProbe(
  s: Server,
): Promise<{ rest: number[]; load: number[]; applies: number }> {
  await ok(
    send(s, "POST", collection("ConfigMap"), JSON.stringify(object(SHAPES[0]!, "probe", 64, 0))),
    "probe object",
  );
  const rest = await probe(s, SECONDS * 500);
  let running = true;
  let applies = 0;
  const applier = async (bytes: number) => {
    const name = `load-${bytes}`;
    for (let v = 1; running; v++) {
      const body = JSON.stringify(object(SHAPES[0]!, name, bytes, v));
      const path = `${collection("ConfigMap")}/${name}?fieldManager=bench-apply&force=true`;
      await ok(send(s, "PATCH", path, body, "application/apply-patch+yaml"), "load apply");
      applies++;
    }
  };
  const loaders = [applier(256 * KiB), applier(1024 * KiB)];
  const load = await probe(s, SECONDS * 1000);
  running = false;
  await Promise.all(loaders);
  return { rest, load, applies };
}

interface Measured {
  label: string;
  writes: Map<string, number>;
  probe: { rest: number[]; load: number[]; applies: number };
}

async function measure(srcRoot: string, label: string): Promise<Measured> {
  const s = await startServer(srcRoot, label);
  try {
    const writes = new Map<string, number>();
    // One untimed round first, so code loading and JIT warm-up are not charged to the first size.
    await measureWrites(s, SHAPES[0]!, 64 * KiB);
    for (const shape of SHAPES) {
      for (const bytes of SIZES) {
        const m = await measureWrites(s, shape, bytes);
        for (const [verb, ms] of m) writes.set(`${shape.name} ${bytes / KiB} KiB ${verb}`, ms);
        console.log(
          `${label}: ${shape.name}, ${bytes / KiB} KiB: ${[...m].map(([v, ms]) => `${v} ${ms.toFixed(0)} ms`).join(", ")}`,
        );
      }
    }
    const p = await measureProbe(s);
    console.log(
      `${label}: probe GET p99 at rest ${percentile(p.rest, 99).toFixed(1)} ms, under big applies ${percentile(p.load, 99).toFixed(1)} ms (${p.applies} applies)`,
    );
    return { label, writes, probe: p };
  } finally {
    await stopServer(s);
  }
}

/** Extracts `src/` of a git commit under .bench-results so its API server can be started. */
function extractBaseline(ref: string): string {
  const sha = execFileSync("git", ["rev-parse", "--short", ref], { cwd: ROOT }).toString().trim();
  const dir = join(RESULTS_DIR, `bigwrites-baseline-${sha}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", sha, "src"], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  return dir;
}

console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const runs: Measured[] = [];
if (args.baseline)
  runs.push(await measure(extractBaseline(args.baseline), `baseline ${args.baseline}`));
runs.push(await measure(ROOT, "this checkout"));
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);

const lines: Line[] = [];
const ours = runs[runs.length - 1]!;
const base = runs.length > 1 ? runs[0] : undefined;
for (const [measure, ms] of ours.writes) {
  const before = base?.writes.get(measure);
  lines.push({
    measure: `event-loop ms, ${measure}`,
    value: Math.round(ms * 10) / 10,
    unit: "ms",
    better: "lower",
    ...(before === undefined
      ? {}
      : { anchor: { value: Math.round(before * 10) / 10, source: `measured: ${base?.label}` } }),
  });
}
const p99 = (r: Measured, which: "rest" | "load") => percentile(r.probe[which], 99);
lines.push({
  measure: "probe GET p99 while valid 256 KiB + 1 MiB applies run",
  value: Math.round(p99(ours, "load") * 10) / 10,
  unit: "ms",
  better: "lower",
  detail: `at rest ${p99(ours, "rest").toFixed(1)} ms; ${ours.probe.applies} applies in ${SECONDS} s${base ? `; baseline at rest ${p99(base, "rest").toFixed(1)} ms, ${base.probe.applies} applies` : ""}`,
  aim: 50,
  ...(base
    ? {
        anchor: {
          value: Math.round(p99(base, "load") * 10) / 10,
          source: `measured: ${base.label}`,
        },
      }
    : {}),
});
for (const l of lines) {
  const a = l.anchor ? ` (before: ${l.anchor.value} ${l.unit})` : "";
  console.log(`${l.measure}: ${l.value} ${l.unit}${a}${l.detail ? `; ${l.detail}` : ""}`);
}
console.log(startResult("bigwrites", { quick }).done(lines));
