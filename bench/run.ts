/**
 * `npm run bench`: every benchmark of `bench/`, one after another, each in its own process (so
 * one's memory and threads never colour the next), then one table of every figure beside its
 * anchor — measured side by side in the same run (Knot, a direct connection, a bare Node server)
 * or published, with its source — and the ratio (≥ 1: we match or beat the anchor).
 *
 * Each benchmark writes `.bench-results/<name>.json` (bench/_result.ts) and its output to
 * `.bench-results/<name>.log`; this script gathers them into `.bench-results/bench.json`. A
 * benchmark that fails or writes nothing is reported as such, never left out silently.
 *
 * Run: npm run bench [-- --quick] [-- --only dns,proxy] [-- --markdown]
 *   --quick     every benchmark's small mode (the whole run < 2 min on a quiet machine)
 *   --only      a comma-separated subset of the names below
 *   --markdown  also rewrite the summary table in BENCHMARKS.md
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Line, machineInfo, RESULTS_DIR, type Result, ratio } from "./_result.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Bench {
  name: string;
  script: string;
  /** Node flags before the script (heap size, gc). */
  node?: string[];
  /** What it measures, for the progress line. */
  about: string;
  /** Generous wall-clock limit (full mode), after which it is stopped and reported. */
  limitSeconds: number;
  /** Arguments instead of `--quick` / none, where the benchmark's own modes do not fit the run. */
  args?: { quick: string[]; full: string[] };
}

export const BENCHES: Bench[] = [
  {
    name: "api",
    script: "bench/api/api.bench.ts",
    about: "API server throughput and latency",
    limitSeconds: 300,
  },
  {
    name: "store",
    script: "bench/store/store.bench.ts",
    about: "store operations",
    limitSeconds: 180,
  },
  {
    name: "pod-startup",
    script: "bench/kubelet/startup.ts",
    node: ["--expose-gc"],
    about: "pod startup latency, agent memory",
    limitSeconds: 180,
  },
  {
    name: "oci",
    script: "bench/kubelet/oci.ts",
    about: "oci runtime: container start vs crun run alone, pod startup (root, crun)",
    limitSeconds: 180,
  },
  {
    name: "logs-load",
    script: "bench/kubelet/logs-load.bench.ts",
    about: "API and DNS p99 while kubectl logs --tail=1 reads a 100 MB log",
    limitSeconds: 300,
  },
  {
    name: "hostile",
    script: "bench/api/hostile.bench.ts",
    about:
      "kubectl-like and DNS p99 while hostile bodies hit the API, with and without body workers",
    limitSeconds: 900,
  },
  {
    name: "bigwrites",
    script: "bench/api/bigwrites.bench.ts",
    about: "event-loop ms of valid big create/update/patch/apply, probe GET p99 beside them",
    limitSeconds: 600,
  },
  {
    name: "dns",
    script: "bench/dns/dns.bench.ts",
    about: "DNS qps vs Knot and bare Node",
    limitSeconds: 180,
  },
  {
    name: "dns-memory",
    script: "bench/dns/memory.ts",
    node: ["--expose-gc", "--max-old-space-size=8192"],
    about: "DNS memory at 10,000 Services / 150,000 pods",
    limitSeconds: 300,
  },
  {
    name: "proxy",
    script: "bench/proxy/proxy.bench.ts",
    about: "service proxy vs direct",
    limitSeconds: 180,
  },
  {
    name: "proxy-kernel",
    script: "bench/proxy/kernel.bench.ts",
    about: "ClusterIP from a pod: nftables, userspace vs direct (root)",
    limitSeconds: 240,
  },
  {
    name: "ingress",
    script: "bench/ingress/ingress.bench.ts",
    about: "ingress controller vs direct",
    limitSeconds: 180,
  },
  {
    name: "latency",
    script: "bench/latency/latency.bench.ts",
    about: "programming latency: slices, DNS, proxy",
    limitSeconds: 240,
  },
  {
    name: "jobs",
    script: "bench/jobs/jobs.bench.ts",
    about: "Job of 1,000 completions, parallelism 100: time to Complete",
    limitSeconds: 240,
  },
  {
    name: "crd-rules",
    script: "bench/crd/rules.bench.ts",
    about: "custom-resource creates with and without CEL validation rules",
    limitSeconds: 120,
  },
  {
    name: "webhooks",
    script: "bench/webhooks/webhooks.bench.ts",
    about:
      "ConfigMap creates with a validating or mutating admission webhook vs none and a bare HTTPS round trip",
    limitSeconds: 180,
  },
  {
    name: "rbac",
    script: "bench/rbac/authz.bench.ts",
    about: "RBAC decisions in process; GETs over HTTPS with RBAC vs AlwaysAllow",
    limitSeconds: 180,
  },
  {
    name: "image-pull",
    script: "bench/images/pull.bench.ts",
    about: "image pull + unpack vs skopeo copy + umoci unpack",
    limitSeconds: 240,
  },
  {
    name: "time-to-k8s",
    script: "bench/cluster/time-to-k8s.bench.ts",
    about: "time to a working cluster, idle RSS",
    limitSeconds: 240,
  },
  {
    name: "scale",
    script: "bench/scale/scale.bench.ts",
    // Its own full size (10,000 Services, 150,000 pods) takes ~30 min here: far beyond a
    // 10-minute run, so `npm run bench` runs 1,000 / 15,000 (100 / 1,500 with --quick); the
    // full size is `node --import tsx bench/scale/scale.bench.ts` on its own.
    about: "scale: 1,000 Services / 15,000 simulated pods",
    limitSeconds: 420,
    args: { quick: ["--services", "100"], full: ["--services", "1000"] },
  },
  {
    name: "ui",
    script: "bench/ui/ui.bench.ts",
    about: "web view: Ready flip to page, load and memory with 1,000 Services (chromium)",
    limitSeconds: 400,
  },
];

const TOOLS = [
  { bin: "dnsperf", pkg: "dnsperf" },
  { bin: "knotd", pkg: "knot" },
  { bin: "wrk", pkg: "wrk" },
  { bin: "kubectl", pkg: "" },
];

function onPath(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

async function runOne(
  b: Bench,
  quick: boolean,
): Promise<{ ok: boolean; seconds: number; note?: string }> {
  const log = join(RESULTS_DIR, `${b.name}.log`);
  const out = createWriteStream(log);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(b.node ?? []),
      "--import",
      "tsx",
      b.script,
      ...(b.args ? (quick ? b.args.quick : b.args.full) : quick ? ["--quick"] : []),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const limit = (quick ? Math.min(b.limitSeconds, 120) : b.limitSeconds) * 1000;
  const timer = setTimeout(() => child.kill("SIGTERM"), limit);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  if (code === 0) return { ok: true, seconds };
  const tail = existsSync(log)
    ? readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" | ")
    : "";
  return {
    ok: false,
    seconds,
    note: code === null ? `stopped after ${limit / 1000} s` : `exit ${code}: ${tail}`,
  };
}

function readResult(name: string, since: number): Result | undefined {
  const path = join(RESULTS_DIR, `${name}.json`);
  if (!existsSync(path)) return undefined;
  const r = JSON.parse(readFileSync(path, "utf8")) as Result;
  return Date.parse(r.startedAt) >= since - 1000 ? r : undefined;
}

const fmt = (n: number): string =>
  !Number.isFinite(n)
    ? String(n)
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString("en-US")
      : Math.abs(n) >= 10
        ? n.toFixed(1)
        : n.toFixed(2);

function cells(bench: string, l: Line): string[] {
  const r = ratio(l);
  const aim =
    l.aim === undefined ? "" : `${l.better === "higher" ? "≥" : "≤"} ${fmt(l.aim)} ${l.unit}`;
  const meetsAim =
    l.aim === undefined
      ? ""
      : (l.better === "higher" ? l.value >= l.aim : l.value <= l.aim)
        ? " ok"
        : " MISSED";
  return [
    bench,
    l.measure,
    `${fmt(l.value)} ${l.unit}${l.detail ? ` (${l.detail})` : ""}`,
    l.anchor ? `${fmt(l.anchor.value)} ${l.unit} — ${l.anchor.source}` : "",
    r === undefined ? "" : `${(Math.floor(r * 100) / 100).toFixed(2)}`,
    `${aim}${meetsAim}`,
  ];
}

export function markdownTable(
  results: { bench: string; result?: Result; note?: string }[],
): string {
  const rows = [
    "| bench | measure | ours | anchor | ratio | aim |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const esc = (s: string) => s.replaceAll("|", "\\|");
  for (const { bench, result, note } of results) {
    if (!result) {
      rows.push(`| ${bench} | (no result: ${esc(note ?? "not run")}) | | | | |`);
      continue;
    }
    for (const l of result.lines) rows.push(`| ${cells(bench, l).map(esc).join(" | ")} |`);
  }
  return rows.join("\n");
}

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    markdown: { type: "boolean", default: false },
  },
});
const quick = values.quick === true;
const only = values.only?.split(",").map((s) => s.trim());
const chosen = BENCHES.filter((b) => !only || only.includes(b.name));
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`,
  );
  process.exit(2);
}

const missing = TOOLS.filter((t) => !onPath(t.bin));
if (missing.length > 0) {
  const pkgs = missing.filter((t) => t.pkg).map((t) => t.pkg);
  console.log(
    `missing tools: ${missing.map((t) => t.bin).join(", ")} — their lines are skipped.${pkgs.length ? ` Install: apt-get install -y ${pkgs.join(" ")}` : ""}`,
  );
}
const started = Date.now();
// A fresh clone has no results folder yet: each benchmark's log is opened in it before the
// benchmark itself (bench/_result.ts) would create it.
mkdirSync(RESULTS_DIR, { recursive: true });
const machine = machineInfo();
console.log(
  `${chosen.length} benchmarks${quick ? " (--quick)" : ""}; ${machine.nproc} CPUs, Node ${machine.node}, load average ${machine.loadavg.join(" ")}`,
);
const gathered: { bench: string; result?: Result; note?: string; seconds: number }[] = [];
for (const b of chosen) {
  if (!existsSync(join(ROOT, b.script))) {
    console.log(`- ${b.name.padEnd(12)} not present (${b.script})`);
    gathered.push({ bench: b.name, note: "benchmark not present", seconds: 0 });
    continue;
  }
  process.stdout.write(`- ${b.name.padEnd(12)} ${b.about}… `);
  const run = await runOne(b, quick);
  const result = run.ok ? readResult(b.name, started) : undefined;
  const note = run.ok && !result ? "it wrote no result" : run.note;
  console.log(
    `${run.seconds.toFixed(0)} s${note ? `: FAILED (${note}; see .bench-results/${b.name}.log)` : ""}`,
  );
  gathered.push({
    bench: b.name,
    ...(result ? { result } : {}),
    ...(note ? { note } : {}),
    seconds: run.seconds,
  });
}
const seconds = (Date.now() - started) / 1000;
const table = markdownTable(gathered);
console.log(`\n${table}\n`);
console.log(
  `${seconds.toFixed(0)} s in all; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} at the end. Results: .bench-results/bench.json`,
);
writeFileSync(
  join(RESULTS_DIR, "bench.json"),
  `${JSON.stringify({ startedAt: new Date(started).toISOString(), quick, seconds, machine, results: gathered }, null, 2)}\n`,
);

if (values.markdown) {
  const path = join(ROOT, "BENCHMARKS.md");
  const text = readFileSync(path, "utf8");
  const [begin, end] = ["<!-- bench:summary:start -->", "<!-- bench:summary:end -->"];
  const block = [
    begin,
    "",
    `Run of ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${machine.commit}, \`npm run bench${quick ? " -- --quick" : ""}\` (${seconds.toFixed(0)} s), ${machine.nproc} × ${machine.cpu}, ${machine.memGiB} GiB, Node ${machine.node}, load average ${machine.loadavg.join(" ")} at the start.`,
    "",
    table,
    "",
    "Reproduce one benchmark's lines with `npm run bench -- --only <bench>` (the first column), or",
    "its own command in [bench/README.md](bench/README.md); `.bench-results/<bench>.log` keeps its",
    "full output.",
    "",
    end,
  ].join("\n");
  const a = text.indexOf(begin);
  const z = text.indexOf(end);
  writeFileSync(
    path,
    a >= 0 && z > a
      ? text.slice(0, a) + block + text.slice(z + end.length)
      : `${text.trimEnd()}\n\n${block}\n`,
  );
  // The repository's formatter owns Markdown tables too: leave the file as `npm test` expects it.
  spawnSync("npx", ["biome", "format", "--write", path], { cwd: ROOT, stdio: "ignore" });
  console.log("BENCHMARKS.md summary updated");
}
process.exit(gathered.every((g) => g.result) ? 0 : 1);
