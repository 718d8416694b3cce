/**
 * The clusters of this user, as `loopkube list` shows them: one record per cluster found in a
 * data dir under the default base (`$XDG_DATA_HOME/loopkube/*`, or `~/.local/share/loopkube/*`).
 *
 * A data dir counts as a cluster's when it holds what a start leaves there (`kubeconfig`,
 * `state.db` or the run info of runinfo.ts). Its state: `running` when its run info names a live
 * process, `stale` when that process is gone without cleaning up (kill -9, a crash), `stopped`
 * when no run info is left (a clean stop removes it).
 *
 * Clusters registered elsewhere (`registered`: running clusters with their pid, name, data dir
 * and ranges, e.g. a registry of address leases) are merged in by data dir: they are running
 * while their process lives, wherever their data dir is (an ephemeral cluster's temporary one
 * too, whose API URL is then read from its kubeconfig), and lend their ranges to the record.
 *
 * Every record has every key (`null` where a value is not known, e.g. the API URL of a stopped
 * cluster), so `-o json` has one stable shape. Reading is best effort and never throws for one
 * odd directory. The run info's address ranges (`podCidr`, `serviceCidr`) are read when present.
 *
 * @module
 */
import { type Dirent, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseKubeconfig } from "../apiserver/kubeconfig.ts";
import { defaultDataDir } from "./options.ts";
import { listLeases } from "./ranges.ts";
import { isProcessAlive, readRunInfo, runInfoPaths } from "./runinfo.ts";

export type ClusterState = "running" | "stopped" | "stale";

export interface ClusterRecord {
  name: string;
  state: ClusterState;
  /** The process of a running cluster, or the dead one a stale cluster names. */
  pid: number | null;
  dataDir: string;
  apiUrl: string | null;
  kubeconfigPath: string | null;
  dns: { host: string; port: number } | null;
  podCidr: string | null;
  serviceCidr: string | null;
  /** Node count when the run info records it (the CLI asks a running cluster's API otherwise). */
  nodes: number | null;
  /** When the data dir was made (RFC 3339), for an AGE column as kubectl prints one. */
  createdAt: string | null;
}

/** A running cluster as a registry outside its data dir knows it. */
export interface RegisteredCluster {
  pid: number;
  name: string;
  dataDir: string;
  podCidr?: string;
  serviceCidr?: string;
}

export interface CollectOptions {
  env?: NodeJS.ProcessEnv;
  /** Whether a pid is a live process (default: signal 0). */
  isAlive?: (pid: number) => boolean;
  /** Running clusters registered elsewhere (default: none). */
  registered?: () => RegisteredCluster[];
}

/**
 * The running clusters of the address range registry (ranges.ts), as `registered` takes them:
 * wherever their data dir is, ephemeral ones included (a test's lease without one is left out).
 */
export function leasedClusters(): RegisteredCluster[] {
  return listLeases()
    .filter((l) => l.dataDir !== "")
    .map((l) => ({
      pid: l.pid,
      name: l.name,
      dataDir: l.dataDir,
      podCidr: l.ranges.podCidr,
      serviceCidr: l.ranges.serviceCidr,
    }));
}

/** The folder holding one data dir per cluster name: `$XDG_DATA_HOME/loopkube`. */
export function clustersBaseDir(env: NodeJS.ProcessEnv = process.env): string {
  return dirname(defaultDataDir("loopkube", env));
}

/** Every cluster with a data dir under the base folder, sorted by name then data dir. */
export function collectClusters(options: CollectOptions = {}): ClusterRecord[] {
  const base = clustersBaseDir(options.env);
  const isAlive = options.isAlive ?? isProcessAlive;
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(base, { withFileTypes: true });
  } catch {
    // No cluster has had a data dir under the base yet.
  }
  const byDir = new Map<string, ClusterRecord>();
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const record = readClusterRecord(join(base, e.name), { isAlive });
    if (record) byDir.set(record.dataDir, record);
  }
  for (const reg of options.registered?.() ?? []) {
    if (!isAlive(reg.pid)) continue;
    const known = byDir.get(reg.dataDir) ?? readClusterRecord(reg.dataDir, { isAlive });
    byDir.set(reg.dataDir, registeredRecord(reg, known));
  }
  return [...byDir.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.dataDir.localeCompare(b.dataDir),
  );
}

/** A registered (so running) cluster's record, over what its data dir says. */
function registeredRecord(reg: RegisteredCluster, known: ClusterRecord | undefined): ClusterRecord {
  const kubeconfigPath = known?.kubeconfigPath ?? null;
  return {
    name: reg.name,
    state: "running",
    pid: reg.pid,
    dataDir: reg.dataDir,
    apiUrl: known?.apiUrl ?? (kubeconfigPath ? serverOf(kubeconfigPath) : null),
    kubeconfigPath,
    dns: known?.dns ?? null,
    podCidr: known?.podCidr ?? reg.podCidr ?? null,
    serviceCidr: known?.serviceCidr ?? reg.serviceCidr ?? null,
    nodes: known?.nodes ?? null,
    createdAt: known?.createdAt ?? createdAt(reg.dataDir),
  };
}

function serverOf(kubeconfigPath: string): string | null {
  try {
    return parseKubeconfig(readFileSync(kubeconfigPath, "utf8")).server;
  } catch {
    return null;
  }
}

/** The record of the cluster in `dataDir`, or undefined if nothing there is a cluster's. */
export function readClusterRecord(
  dataDir: string,
  options: Pick<CollectOptions, "isAlive"> = {},
): ClusterRecord | undefined {
  const isAlive = options.isAlive ?? isProcessAlive;
  const info = readRunInfo(dataDir);
  if (!info && !looksLikeDataDir(dataDir)) return undefined;
  // Fields a newer cluster.json may carry, read without trusting their type.
  const extra = (info ?? {}) as Partial<Record<"podCidr" | "serviceCidr" | "nodes", unknown>>;
  const state: ClusterState = !info ? "stopped" : isAlive(info.pid) ? "running" : "stale";
  return {
    name: info?.name ?? basename(dataDir),
    state,
    pid: info?.pid ?? null,
    dataDir,
    apiUrl: info?.apiUrl ?? null,
    kubeconfigPath: info?.kubeconfigPath ?? exists(join(dataDir, "kubeconfig")) ?? null,
    dns: info?.dns ?? null,
    podCidr: typeof extra.podCidr === "string" ? extra.podCidr : null,
    serviceCidr: typeof extra.serviceCidr === "string" ? extra.serviceCidr : null,
    nodes: typeof extra.nodes === "number" ? extra.nodes : null,
    createdAt: createdAt(dataDir),
  };
}

function looksLikeDataDir(dir: string): boolean {
  const paths = runInfoPaths(dir);
  return [join(dir, "kubeconfig"), join(dir, "state.db"), paths.info, paths.pid].some(
    (p) => exists(p) !== undefined,
  );
}

function exists(path: string): string | undefined {
  try {
    statSync(path);
    return path;
  } catch {
    return undefined;
  }
}

function createdAt(dir: string): string | null {
  try {
    const s = statSync(dir);
    // Birth time where the file system keeps one; the inode's change time otherwise.
    const ms = s.birthtimeMs > 0 ? s.birthtimeMs : s.ctimeMs;
    return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  } catch {
    return null;
  }
}
