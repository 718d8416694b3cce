/**
 * Reading a container's usage from its cgroup, as the kubelet's cAdvisor does: CPU from the
 * cumulative counter (`cpuacct.usage` in ns under cgroup v1, `usage_usec` of `cpu.stat` under v2)
 * and memory as the working set, usage minus the inactive file cache (v1 `memory.usage_in_bytes`
 * less `total_inactive_file` of `memory.stat`; v2 `memory.current` less `inactive_file`), floored
 * at zero.
 *
 * Which cgroup: the one `/proc/<pid>/cgroup` names for the container's first process, found under
 * the mounts `/proc/self/mountinfo` lists. v1 controllers win over the v2 line, because on a hybrid
 * host the runtime drops cgroup2 and the `0::` line is then the kubelet's own. Only a cgroup of the
 * container's own counts (see `ownCgroup`): a process pod or a rootless container sits in the
 * kubelet's cgroup, whose figures would be the whole agent's.
 *
 * Pure parsers plus small readers that answer `undefined` (never throw) when a file is gone.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** `/proc/<pid>/cgroup`: the path per v1 controller, and the v2 (`0::`) path. */
export interface ProcCgroups {
  v1: Map<string, string>;
  v2?: string | undefined;
}

export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: new Map() };
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers = "", path = ""] = m;
    if (id === "0" && controllers === "") out.v2 = path;
    else for (const c of controllers.split(",")) if (c) out.v1.set(c, path);
  }
  return out;
}

/** Where a cgroup hierarchy is mounted: `at` shows the hierarchy's `root`. */
export interface CgroupMount {
  at: string;
  root: string;
}

export interface CgroupMounts {
  v1: Map<string, CgroupMount>;
  v2?: CgroupMount | undefined;
}

/** The cgroup mounts of `/proc/self/mountinfo`; the first mount of a hierarchy wins. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const out: CgroupMounts = { v1: new Map() };
  for (const line of mountinfo.split("\n")) {
    const [left = "", right = ""] = line.split(" - ");
    const f = left.split(" ");
    const [type = "", , superOptions = ""] = right.split(" ");
    const root = f[3];
    const at = f[4];
    if (!root || !at) continue;
    if (type === "cgroup2") out.v2 ??= { at, root };
    if (type !== "cgroup") continue;
    for (const o of superOptions.split(",")) {
      if (o === "memory" || o === "cpuacct" || o === "cpu") {
        if (!out.v1.has(o)) out.v1.set(o, { at, root });
      }
    }
  }
  return out;
}

/** A cgroup path as a directory under its mount; undefined when the mount does not show it. */
export function cgroupDir(mount: CgroupMount, path: string): string | undefined {
  const root = mount.root === "/" ? "" : mount.root;
  if (root && path !== root && !path.startsWith(`${root}/`)) return undefined;
  return join(mount.at, path.slice(root.length));
}

/** The files that hold a container's counters. */
export type CgroupFiles =
  | { version: 1; cpuUsage: string; memoryUsage: string; memoryStat: string }
  | { version: 2; cpuStat: string; memoryCurrent: string; memoryStat: string };

/**
 * A cgroup is the container's own when it is not the kubelet's and was made by loopkube's
 * runtime (under `/loopkube-<hash>`).
 */
export function ownCgroup(path: string | undefined, kubelets: string | undefined): boolean {
  return path !== undefined && path !== kubelets && /(^|\/)loopkube-[^/]+\/./.test(path);
}

/** The counter files of a process's cgroup, given the kubelet's own (`self`) for comparison. */
export function cgroupFiles(
  proc: ProcCgroups,
  self: ProcCgroups,
  mounts: CgroupMounts,
): CgroupFiles | undefined {
  const mem = proc.v1.get("memory");
  const acct = proc.v1.get("cpuacct");
  const memMount = mounts.v1.get("memory");
  const acctMount = mounts.v1.get("cpuacct");
  if (mem !== undefined || acct !== undefined) {
    if (!ownCgroup(mem, self.v1.get("memory")) || !ownCgroup(acct, self.v1.get("cpuacct"))) {
      return undefined;
    }
    const m = memMount && cgroupDir(memMount, mem as string);
    const a = acctMount && cgroupDir(acctMount, acct as string);
    if (!m || !a) return undefined;
    return {
      version: 1,
      cpuUsage: join(a, "cpuacct.usage"),
      memoryUsage: join(m, "memory.usage_in_bytes"),
      memoryStat: join(m, "memory.stat"),
    };
  }
  if (!mounts.v2 || !ownCgroup(proc.v2, self.v2)) return undefined;
  const d = cgroupDir(mounts.v2, proc.v2 as string);
  if (!d) return undefined;
  return {
    version: 2,
    cpuStat: join(d, "cpu.stat"),
    memoryCurrent: join(d, "memory.current"),
    memoryStat: join(d, "memory.stat"),
  };
}

/** `memory.stat` / `cpu.stat`: one `key value` a line. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v, extra] = line.trim().split(/\s+/);
    if (k && v !== undefined && extra === undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** Usage less the inactive file cache (v1 counts the whole subtree: `total_inactive_file`). */
export function workingSet(version: 1 | 2, usage: number, stat: Map<string, number>): number {
  const inactive = stat.get(version === 1 ? "total_inactive_file" : "inactive_file") ?? 0;
  return Math.max(0, usage - inactive);
}

export interface CgroupUsage {
  /** Cumulative CPU time, ns. */
  cpuNs: number;
  memoryWorkingSet: number;
}

const read = (path: string) => readFile(path, "utf8").catch(() => undefined);

/** Reads a cgroup's counters; undefined when a file is gone (the container stopped). */
export async function readCgroupUsage(files: CgroupFiles): Promise<CgroupUsage | undefined> {
  if (files.version === 1) {
    const [cpu, usage, stat] = await Promise.all([
      read(files.cpuUsage),
      read(files.memoryUsage),
      read(files.memoryStat),
    ]);
    if (cpu === undefined || usage === undefined || stat === undefined) return undefined;
    const cpuNs = Number(cpu.trim());
    const bytes = Number(usage.trim());
    if (!Number.isFinite(cpuNs) || !Number.isFinite(bytes)) return undefined;
    return { cpuNs, memoryWorkingSet: workingSet(1, bytes, parseFlatKeyed(stat)) };
  }
  const [cpu, current, stat] = await Promise.all([
    read(files.cpuStat),
    read(files.memoryCurrent),
    read(files.memoryStat),
  ]);
  if (cpu === undefined || current === undefined || stat === undefined) return undefined;
  const usec = parseFlatKeyed(cpu).get("usage_usec");
  const bytes = Number(current.trim());
  if (usec === undefined || !Number.isFinite(bytes)) return undefined;
  return { cpuNs: usec * 1000, memoryWorkingSet: workingSet(2, bytes, parseFlatKeyed(stat)) };
}
