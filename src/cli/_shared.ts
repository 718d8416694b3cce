/**
 * What the commands share: the options that name a cluster (`--name`, `--data-dir`), parsing
 * of numeric options into one-sentence errors, and where output goes.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { CLUSTER_DEFAULTS, defaultDataDir } from "../cluster/index.ts";

export interface TargetOptions {
  name: string;
  dataDir?: string;
}

export function dataDirOf(o: TargetOptions): string {
  return o.dataDir ?? defaultDataDir(o.name);
}

export const DEFAULT_NAME = CLUSTER_DEFAULTS.name;

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError("not a port number (0-65535; 0 picks a free one).");
  }
  return n;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Where a command writes: lines to stdout, raw text to stdout, lines to stderr. */
export interface Io {
  out(line: string): void;
  raw(text: string): void;
  err(line: string): void;
  /** The command's exit status (the process's, for the real command line). */
  setExitCode(code: number): void;
}

export const PROCESS_IO: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  raw: (text) => process.stdout.write(text),
  err: (line) => process.stderr.write(`${line}\n`),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};
