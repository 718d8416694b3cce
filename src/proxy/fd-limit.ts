/**
 * The open-files limit. Each proxied TCP connection holds two descriptors and each UDP flow one.
 *
 * Nothing to raise here: Node itself raises RLIMIT_NOFILE's soft limit to the hard limit at
 * startup (src/node.cc, PlatformInit; the test below checks it). The hard limit is the ceiling:
 * raise it before starting (`ulimit -Hn`, systemd `LimitNOFILE=`, container `--ulimit nofile=`).
 * {@link readFdLimits} lets the caller log the limit it runs with. Linux only: elsewhere the
 * limits read as unknown.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

export interface FdLimits {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" line of /proc/<pid>/limits; "unlimited" reads as Infinity. */
export function parseFdLimits(text: string): FdLimits | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const num = (v: string | undefined) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v));
  const soft = num(m[1]);
  const hard = num(m[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

export async function readFdLimits(pid: number = process.pid): Promise<FdLimits | undefined> {
  try {
    return parseFdLimits(await readFile(`/proc/${pid}/limits`, "utf8"));
  } catch {
    return undefined;
  }
}
