/**
 * Reading resource usage out of Linux `/proc`: the per-process line of `/proc/<pid>/stat`, the
 * host's CPU counters in `/proc/stat`, `/proc/meminfo` and `/proc/uptime`. Pure parsers (text in,
 * numbers out) plus one directory scan; `undefined` means "not this format" (a process that
 * vanished mid-read, a kernel without the field) and never throws, because a scan races with
 * processes coming and going.
 *
 * Units are the kernel's: CPU times in clock ticks (USER_HZ, 100 on every Linux we know of), RSS in
 * pages, memory in bytes (meminfo's kB × 1024).
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /**
   * utime + stime + cutime + cstime: the process's own CPU time plus that of the children it has
   * reaped, so a shell's short-lived commands still count once they are gone (as a cgroup would).
   */
  cpuTicks: number;
  /** When the process started, in ticks after boot. */
  startTicks: number;
  rssPages: number;
}

/** One `/proc/<pid>/stat` line. The command name may hold spaces and parentheses: split after the last `)`. */
export function parsePidStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Fields from 3 (state) on; index i here is field i + 3 in proc(5).
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  if (f.length < 22 || !Number.isInteger(pid)) return undefined;
  const n = (i: number) => Number(f[i]);
  const out: ProcStat = {
    pid,
    ppid: n(1),
    pgrp: n(2),
    session: n(3),
    cpuTicks: n(11) + n(12) + n(13) + n(14),
    startTicks: n(19),
    rssPages: n(21),
  };
  return Object.values(out).every(Number.isFinite) ? out : undefined;
}

export interface HostCpu {
  /** user + nice + system + irq + softirq + steal (guest time is already inside user). */
  busyTicks: number;
  totalTicks: number;
}

/** The aggregate `cpu` line of `/proc/stat`. */
export function parseHostCpu(text: string): HostCpu | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || !v.every(Number.isFinite)) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busyTicks = user + nice + system + irq + softirq + steal;
  return { busyTicks, totalTicks: busyTicks + idle + iowait };
}

/** `/proc/meminfo` as bytes per key (`MemTotal`, `Inactive(file)`, …). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

/**
 * The host's memory working set as cAdvisor reports it for the node's root cgroup: usage (all
 * memory not free, page cache included) minus the inactive file cache, which the kernel can
 * drop at once.
 */
export function hostWorkingSet(meminfo: Map<string, number>): number | undefined {
  const total = meminfo.get("MemTotal");
  const free = meminfo.get("MemFree");
  if (total === undefined || free === undefined) return undefined;
  return Math.max(0, total - free - (meminfo.get("Inactive(file)") ?? 0));
}

/** Seconds since boot, the first figure of `/proc/uptime`. */
export function parseUptime(text: string): number | undefined {
  const v = Number(text.trim().split(/\s+/)[0]);
  return text.trim() !== "" && Number.isFinite(v) ? v : undefined;
}

/**
 * The processes belonging to a container whose first process is `root`: `root`, everything in
 * its session or process group (the runtime starts each container as a session leader, and the
 * agent signals that group), and every descendant by parent pid (a child that started a session
 * of its own). A process reparented outside all three is no longer the container's, as with a
 * daemon that escaped a cgroup-less runtime.
 */
export function containerProcesses(root: number, all: Map<number, ProcStat>): ProcStat[] {
  const children = new Map<number, number[]>();
  for (const p of all.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const seen = new Set<number>();
  const stack = [root];
  for (const p of all.values()) if (p.session === root || p.pgrp === root) stack.push(p.pid);
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid) || !all.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen].map((pid) => all.get(pid) as ProcStat);
}

/** Reads a file under the proc root; undefined when it is gone or unreadable. */
export async function readProc(procRoot: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(procRoot, path), "utf8");
  } catch {
    return undefined;
  }
}

/** Every process's stat line, keyed by pid (one pass over the proc root). */
export async function scanProcesses(procRoot: string): Promise<Map<number, ProcStat>> {
  const names = await readdir(procRoot).catch(() => [] as string[]);
  const stats = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        const text = await readProc(procRoot, join(n, "stat"));
        return text === undefined ? undefined : parsePidStat(text);
      }),
  );
  const out = new Map<number, ProcStat>();
  for (const s of stats) if (s) out.set(s.pid, s);
  return out;
}
