/**
 * The node agent's record of pod IPs, one file for all its nodes: `<dataDir>/pod-ips.log`, one
 * line per change (`+ <key> <ip>` when a pod gets an address, `- <key> <ip>` when it gives it
 * back), so that a pod keeps its address across agent restarts.
 *
 * Why a log: rewriting a map file (write, then rename) on every change cost a rename per node
 * and flush, and a rename is a journalled metadata write: at 430 simulated nodes the renames
 * were 12 % of the agent's CPU. Appends are cheap. Changes are appended together at most once
 * per `FLUSH_MS` (`flush()` appends at once; the agent flushes on stop).
 *
 * Invariants:
 * - only whole lines count: a `kill -9` in the middle of an append leaves a partial last line,
 *   which the next open ignores (losing at most that batch; the pods' own `status.podIP`, passed
 *   back as `preferred`, still gives them their addresses again);
 * - a release names the address it releases, so a late release on one node never removes the
 *   address the same pod name has since got on another;
 * - on open, and when the log holds more than twice as many lines as live entries (and more than
 *   1,000), it is compacted: the live entries are written to a temporary file that replaces
 *   the log by rename, atomically.
 *
 * - a write that fails (a full or read-only disk) loses nothing: the journal keeps its entries
 *   in memory and its pending lines, tells `onError` once per failure episode, and appends them
 *   at the next flush that works (a compaction that fails leaves the log as it was).
 *
 * A data dir from before the log (`pod-ips.json`, a map of key → IP) is read once and folded in.
 *
 * @module
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export interface IpJournal {
  /** Every live entry, key → IP, as found at open and changed since. */
  entries(): ReadonlyMap<string, string>;
  set(key: string, ip: string): void;
  /** Forgets `key` if it still holds `ip`. */
  release(key: string, ip: string): void;
  /** Appends pending changes now. */
  flush(): void;
}

/** Longest time a change waits before it is appended. */
export const FLUSH_MS = 1000;
const COMPACT_MIN_LINES = 1000;

/** A journal in memory only (no data dir): nothing survives the process. */
export function memoryIpJournal(): IpJournal {
  const live = new Map<string, string>();
  return {
    entries: () => live,
    set: (key, ip) => void live.set(key, ip),
    release: (key, ip) => {
      if (live.get(key) === ip) live.delete(key);
    },
    flush: () => {},
  };
}

export function openIpJournal(
  dataDir: string,
  options: { onError?: (e: NodeJS.ErrnoException) => void } = {},
): IpJournal {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "pod-ips.log");
  const legacy = join(dataDir, "pod-ips.json");
  const live = new Map<string, string>();
  if (existsSync(legacy)) {
    const saved = JSON.parse(readFileSync(legacy, "utf8")) as Record<string, string>;
    for (const [key, ip] of Object.entries(saved)) live.set(key, ip);
  }
  let lines = existsSync(file) ? replay(readFileSync(file, "utf8"), live) : 0;

  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;

  let failing = false;
  const failed = (e: unknown) => {
    if (!failing) options.onError?.(e as NodeJS.ErrnoException);
    failing = true;
  };
  const compact = () => {
    const tmp = `${file}.tmp`;
    try {
      writeFileSync(tmp, [...live].map(([k, ip]) => `+ ${k} ${ip}\n`).join(""));
      renameSync(tmp, file);
      lines = live.size;
    } catch (e) {
      failed(e);
    }
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    try {
      // After a failure the last append may have left a partial line: end it first (the lines
      // that follow repeat what it said).
      appendFileSync(file, (failing ? "\n" : "") + pending.join(""));
    } catch (e) {
      failed(e);
      // Kept, and tried again a little later.
      timer = setTimeout(flush, FLUSH_MS);
      timer.unref?.();
      return;
    }
    failing = false;
    lines += pending.length;
    pending = [];
    if (lines > COMPACT_MIN_LINES && lines > 2 * live.size) compact();
  };
  const record = (line: string) => {
    pending.push(line);
    if (!timer) {
      timer = setTimeout(flush, FLUSH_MS);
      timer.unref?.();
    }
  };

  compact();
  if (existsSync(legacy) && !failing) rmSync(legacy);

  return {
    entries: () => live,
    set(key, ip) {
      if (live.get(key) === ip) return;
      live.set(key, ip);
      record(`+ ${key} ${ip}\n`);
    },
    release(key, ip) {
      if (live.get(key) !== ip) return;
      live.delete(key);
      record(`- ${key} ${ip}\n`);
    },
    flush,
  };
}

/** Applies the log's whole lines to `live`; returns how many there were. */
function replay(text: string, live: Map<string, string>): number {
  const end = text.lastIndexOf("\n");
  if (end < 0) return 0;
  let count = 0;
  for (const line of text.slice(0, end).split("\n")) {
    const [op, key, ip] = line.split(" ");
    if (!key || !ip || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    count++;
    if (op === "+") live.set(key, ip);
    else if (op === "-" && live.get(key) === ip) live.delete(key);
  }
  return count;
}
