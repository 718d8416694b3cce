/**
 * The one result format every benchmark writes, so that `npm run bench` (bench/run.ts) can print
 * a single table and keep one JSON file. A benchmark calls `writeResult(name, lines)` once at the
 * end; the file is `.bench-results/<name>.json`, overwritten each run.
 *
 * A line is one measure: our figure, and where there is one, the anchor it is compared with —
 * either measured side by side in the same run (Knot, a direct connection, a bare Node server)
 * or a published figure with its source. `ratio` is always "higher is better": ours / anchor for
 * a rate, anchor / ours for a latency or a size, so ≥ 1 means we match or beat the anchor.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type Unit = "/s" | "ms" | "µs" | "s" | "MiB" | "MB/s" | "%";

export interface Anchor {
  value: number;
  /** Where the anchor comes from: "measured: Knot, 1 UDP worker" or "published: minikube time-to-k8s v1.36". */
  source: string;
}

export interface Line {
  measure: string;
  value: number;
  unit: Unit;
  /** Whether a bigger figure is better (rates) or worse (latencies, memory). */
  better: "higher" | "lower";
  /** Free text shown beside the figure: percentiles, counts, CPU share. */
  detail?: string;
  anchor?: Anchor;
  /** The aim for this measure, if it states one (same unit as value). */
  aim?: number;
}

export interface Result {
  bench: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
  machine: {
    nproc: number;
    cpu: string;
    memGiB: number;
    node: string;
    loadavg: number[];
    commit: string;
  };
  lines: Line[];
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".bench-results");

/** ours vs anchor, "higher is better" whatever the unit. */
export function ratio(line: Line): number | undefined {
  if (!line.anchor || line.anchor.value === 0 || line.value === 0) return undefined;
  return line.better === "higher" ? line.value / line.anchor.value : line.anchor.value / line.value;
}

export function machineInfo(): Result["machine"] {
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    // Not a checkout: the figures stand without it.
  }
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "",
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
  };
}

/** Starts the clock of one benchmark; `done(lines)` writes its result file and returns its path. */
export function startResult(bench: string, opts: { quick?: boolean } = {}) {
  const started = new Date();
  const machine = machineInfo();
  return {
    done(lines: Line[]): string {
      const result: Result = {
        bench,
        quick: opts.quick ?? false,
        startedAt: started.toISOString(),
        seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
        machine,
        lines,
      };
      mkdirSync(RESULTS_DIR, { recursive: true });
      const path = join(RESULTS_DIR, `${bench}.json`);
      writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
      return path;
    },
  };
}

/** Nearest-rank percentile of unsorted samples (NaN when empty). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
