/**
 * Rows of the API benchmark and their rendering: one plain-text table (measure, figure, target,
 * ratio and verdict) and the machine it ran on. A ratio is always "higher is better": figure /
 * target for a rate, target / figure for a latency, so ≥ 1 meets the target.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { cpus, freemem, loadavg, totalmem } from "node:os";

export interface Row {
  backend: string;
  measure: string;
  /** The figure the verdict is about (a rate in /s or a latency in ms). */
  value: number;
  unit: "/s" | "ms" | "MiB";
  /** What the figure says, e.g. "2,345 /s (p50 3.1 ms, p99 9.8 ms)". */
  figure: string;
  target?: { kind: "min" | "max"; value: number };
  /** Everything else worth keeping in the JSON (percentiles, CPU shares, sizes). */
  detail?: Record<string, number | string>;
}

const fmt = (n: number): string =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n >= 10 ? n.toFixed(1) : n.toFixed(2);

export const ms = (n: number): string => `${fmt(n)} ms`;
export const rate = (n: number): string => `${fmt(n)} /s`;

export function ratio(row: Row): number | undefined {
  if (!row.target) return undefined;
  return row.target.kind === "min" ? row.value / row.target.value : row.target.value / row.value;
}

function targetText(row: Row): string {
  if (!row.target) return "";
  const v = row.unit === "/s" ? rate(row.target.value) : `${fmt(row.target.value)} ${row.unit}`;
  return row.target.kind === "min" ? `≥ ${v}` : `< ${v}`;
}

function verdict(row: Row): string {
  const r = ratio(row);
  if (r === undefined) return "";
  // Rounded down, so that a miss never shows as "1.00".
  return `${(Math.floor(r * 100) / 100).toFixed(2)} ${r >= 1 ? "ok" : "MISSED"}`;
}

/** A Markdown table (it reads as plain text in a terminal too). */
export function table(rows: Row[]): string {
  const lines = [
    "| backend | measure | figure | target | ratio |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) => `| ${r.backend} | ${r.measure} | ${r.figure} | ${targetText(r)} | ${verdict(r)} |`,
    ),
  ];
  return lines.join("\n");
}

export interface Machine {
  nproc: number;
  cpu: string;
  memTotalGiB: number;
  memFreeGiB: number;
  node: string;
  loadavg: number[];
  date: string;
  commit: string;
}

export function machine(): Machine {
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    // Not a checkout: the figure stands without it.
  }
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "",
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    memFreeGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
    commit,
  };
}
