/**
 * Resource usage of this node and of its pods, measured from `/proc`: what a kubelet's summary
 * API hands metrics-server, here handed straight to the API server's `metrics.k8s.io` group.
 *
 * CPU is a rate, so it needs two readings. A sample is taken every `intervalMs` (10 s; the two
 * newest are kept) and one more on each `collect()`. A rate runs from the newest kept sample at
 * least `intervalMs / 2` old to the fresh one, so windows are 5-15 s, close to metrics-server's
 * 15 s scrape. A container that started after that sample is measured from its own start (its
 * counters were zero then), so the first `kubectl top` after a pod starts already answers, over a
 * window as long as the container's life. The node falls back to its oldest sample, or to boot.
 *
 * A container with a cgroup of its own (the `oci` runtime as root) is measured from that cgroup,
 * as the kubelet's cAdvisor does (see `metrics_cgroup.ts`): CPU from its cumulative counter, memory
 * as its working set. Any other container (process pods, rootless `oci`) is its first process plus
 * its session, process group and descendants (see `containerProcesses`), and its memory the sum of
 * their resident set sizes: an approximation of the cgroup working set (shared pages count once
 * per process; page cache is left out).
 * The node's memory is the host's working set from `/proc/meminfo`, its CPU the host's busy time
 * from `/proc/stat`: the node's usage, not just its pods'. Simulated containers have no process and
 * report zero CPU and memory: nothing runs, so nothing is used.
 *
 * The returned shape is the API server's `MetricsSnapshot`, restated here because the kubelet
 * does not import the API server (the cluster wires the two).
 *
 * @module
 */
import { join } from "node:path";
import {
  type CgroupUsage,
  cgroupFiles,
  parseCgroupMounts,
  parseProcCgroup,
  readCgroupUsage,
} from "./metrics_cgroup.ts";
import {
  containerProcesses,
  type HostCpu,
  hostWorkingSet,
  type ProcStat,
  parseHostCpu,
  parseMeminfo,
  parsePidStat,
  parseUptime,
  readProc,
  scanProcesses,
} from "./metrics_proc.ts";

/** A running container of a pod on this node; `pid` is absent in the simulated runtime. */
export interface MetricsTarget {
  namespace: string;
  name: string;
  containers: Array<{ name: string; pid?: number | undefined }>;
}

export interface Usage {
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface Measured {
  timestamp: Date;
  windowMs: number;
}

export interface KubeletMetrics {
  nodes: Map<string, Usage & Measured>;
  /** Keyed `<namespace>/<name>`; only pods with at least one running container. */
  pods: Map<string, Measured & { containers: Array<Usage & { name: string }> }>;
}

export interface MetricsCollectorOptions {
  nodeName: string;
  /** The pods to measure, asked at every sample. */
  targets: () => MetricsTarget[];
  /** Default `/proc`; tests point it at a directory of their own. */
  procRoot?: string;
  /** Default 10 s. */
  intervalMs?: number;
  now?: () => number;
  /** USER_HZ; default 100. */
  clockTicks?: number;
  /** Default: measured from this process (see `pageSize`). */
  pageSize?: number;
  onError?: (e: unknown) => void;
}

export interface MetricsCollector {
  /** Measures now (one pass over /proc for all pods). */
  collect(): Promise<KubeletMetrics>;
  /** Takes and keeps a periodic sample now: what the timer does every `intervalMs`. */
  tick(): Promise<void>;
  stop(): void;
}

interface Sample {
  t: number;
  uptimeS: number;
  cpu: HostCpu | undefined;
  memory: number | undefined;
  /** CPU ticks per container, keyed `<pid>@<startTicks>` so a reused pid never matches. */
  containers: Map<string, number>;
  /** Counters of the containers with a cgroup of their own, same keys. */
  cgroups: Map<string, CgroupUsage>;
}

/**
 * The kernel's page size. Node has no getpagesize(), but its RSS figure is /proc/self/stat's page
 * count times the page size, so the ratio (rounded to a power of two, the two reads being a few
 * microseconds apart) is the page size.
 */
export async function pageSize(procRoot = "/proc"): Promise<number> {
  const text = await readProc(procRoot, "self/stat");
  const pages = text ? parsePidStat(text)?.rssPages : undefined;
  if (!pages) return 4096;
  return 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages));
}

export async function startMetricsCollector(
  options: MetricsCollectorOptions,
): Promise<MetricsCollector> {
  const procRoot = options.procRoot ?? "/proc";
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  const hz = options.clockTicks ?? 100;
  const page = options.pageSize ?? (await pageSize(procRoot));
  const onError = options.onError ?? (() => {});
  const kept: Sample[] = [];
  const [mountinfo, selfCgroup] = await Promise.all([
    readProc(procRoot, "self/mountinfo"),
    readProc(procRoot, "self/cgroup"),
  ]);
  const mounts = parseCgroupMounts(mountinfo ?? "");
  const self = parseProcCgroup(selfCgroup ?? "");
  const cgroupOf = async (pid: number) => {
    const text = await readProc(procRoot, join(String(pid), "cgroup"));
    const files = text === undefined ? undefined : cgroupFiles(parseProcCgroup(text), self, mounts);
    return files && readCgroupUsage(files);
  };

  const sample = async (targets: MetricsTarget[]) => {
    const wantsProcs = targets.some((p) => p.containers.some((c) => c.pid !== undefined));
    const [stat, meminfo, uptime, procs] = await Promise.all([
      readProc(procRoot, "stat"),
      readProc(procRoot, "meminfo"),
      readProc(procRoot, "uptime"),
      wantsProcs ? scanProcesses(procRoot) : new Map<number, ProcStat>(),
    ]);
    const s: Sample = {
      t: now(),
      uptimeS: (uptime && parseUptime(uptime)) || 0,
      cpu: stat ? parseHostCpu(stat) : undefined,
      memory: meminfo ? hostWorkingSet(parseMeminfo(meminfo)) : undefined,
      containers: new Map(),
      cgroups: new Map(),
    };
    const trees = new Map<string, ProcStat[]>();
    for (const p of targets) {
      for (const c of p.containers) {
        const root = c.pid === undefined ? undefined : procs.get(c.pid);
        if (!root) continue;
        const tree = containerProcesses(root.pid, procs);
        const key = `${root.pid}@${root.startTicks}`;
        trees.set(key, tree);
        s.containers.set(
          key,
          tree.reduce((sum, x) => sum + x.cpuTicks, 0),
        );
        const usage = await cgroupOf(root.pid);
        if (usage) s.cgroups.set(key, usage);
      }
    }
    return { s, procs, trees };
  };

  /** The newest kept sample at least half an interval older than `t` that satisfies `has`. */
  const baseFor = (t: number, has: (s: Sample) => boolean) => {
    for (let i = kept.length - 1; i >= 0; i--) {
      const k = kept[i] as Sample;
      if (k.t <= t - intervalMs / 2 && has(k)) return k;
    }
    return undefined;
  };

  const rate = (ticks: number, ms: number) =>
    ms > 0 ? Math.max(0, Math.round((ticks / hz / (ms / 1000)) * 1e9)) : 0;

  const periodic = async () => {
    const { s } = await sample(options.targets());
    kept.push(s);
    while (kept.length > 2) kept.shift();
  };
  await periodic();
  const timer = setInterval(() => void periodic().catch(onError), intervalMs);
  timer.unref();

  return {
    tick: periodic,
    async collect() {
      const targets = options.targets();
      const { s, procs, trees } = await sample(targets);
      const timestamp = new Date(s.t);
      const out: KubeletMetrics = { nodes: new Map(), pods: new Map() };

      // The node: from a kept sample, else the oldest one, else since boot.
      const nodeBase = baseFor(s.t, (k) => k.cpu !== undefined) ?? kept[0];
      let nodeCpu = 0;
      let nodeWindow = intervalMs;
      if (s.cpu && nodeBase?.cpu && s.t > nodeBase.t) {
        nodeWindow = s.t - nodeBase.t;
        nodeCpu = rate(s.cpu.busyTicks - nodeBase.cpu.busyTicks, nodeWindow);
      } else if (s.cpu && s.uptimeS > 0) {
        nodeWindow = Math.round(s.uptimeS * 1000);
        nodeCpu = rate(s.cpu.busyTicks, nodeWindow);
      }
      out.nodes.set(options.nodeName, {
        timestamp,
        windowMs: nodeWindow,
        cpuNanoCores: nodeCpu,
        memoryBytes: s.memory ?? 0,
      });

      for (const p of targets) {
        const containers: Array<Usage & { name: string }> = [];
        let windowMs = Number.POSITIVE_INFINITY;
        for (const c of p.containers) {
          if (c.pid === undefined) {
            containers.push({ name: c.name, cpuNanoCores: 0, memoryBytes: 0 });
            windowMs = Math.min(windowMs, nodeWindow);
            continue;
          }
          const root = procs.get(c.pid);
          if (!root) continue; // exited since the container was listed
          const key = `${root.pid}@${root.startTicks}`;
          const tree = trees.get(key);
          const ticks = s.containers.get(key);
          if (!tree || ticks === undefined) continue;
          const cg = s.cgroups.get(key);
          const base = baseFor(s.t, (k) => (cg ? k.cgroups.has(key) : k.containers.has(key)));
          // Counters were zero when the container's first process started (its cgroup was made
          // just before).
          const w = base
            ? s.t - base.t
            : Math.max(1, Math.round((s.uptimeS - root.startTicks / hz) * 1000));
          windowMs = Math.min(windowMs, w);
          if (cg) {
            const used = cg.cpuNs - (base?.cgroups.get(key)?.cpuNs ?? 0);
            containers.push({
              name: c.name,
              cpuNanoCores: Math.max(0, Math.round(used / (w / 1000))),
              memoryBytes: cg.memoryWorkingSet,
            });
            continue;
          }
          const used = base ? ticks - (base.containers.get(key) ?? 0) : ticks;
          containers.push({
            name: c.name,
            cpuNanoCores: rate(used, w),
            memoryBytes: tree.reduce((sum, x) => sum + x.rssPages, 0) * page,
          });
        }
        if (containers.length === 0) continue;
        out.pods.set(`${p.namespace}/${p.name}`, { timestamp, windowMs, containers });
      }
      return out;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
