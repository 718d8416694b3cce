/**
 * What a running (non-ephemeral) cluster leaves in its data dir so that other `loopkube`
 * invocations can find it: `loopkube.pid` (the process to signal for `down`) and `cluster.json`
 * (addresses for `status`), plus `loopkube.log` where a detached cluster writes its output.
 *
 * Invariant: a cluster removes these files on stop only if they still name its own pid, so a
 * stale stop never erases the files of a cluster started after it.
 *
 * @module
 */
import { readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface RunInfo {
  pid: number;
  name: string;
  apiUrl: string;
  kubeconfigPath: string;
  dns: { host: string; port: number };
  /** The DNS server's Prometheus `/metrics` (absent in files written before it existed). */
  dnsMetricsUrl?: string;
  nodeAgent: boolean;
  /**
   * The address ranges the cluster holds (see `src/api/addressplan.ts`); absent from the run
   * info of a cluster started by a loopkube older than the address registry.
   */
  podCidr?: string;
  serviceCidr?: string;
  nodeIP?: string;
  loadBalancerCidr?: string;
}

export function runInfoPaths(dataDir: string): { pid: string; info: string; log: string } {
  return {
    pid: join(dataDir, "loopkube.pid"),
    info: join(dataDir, "cluster.json"),
    log: join(dataDir, "loopkube.log"),
  };
}

export async function writeRunInfo(dataDir: string, info: RunInfo): Promise<void> {
  const paths = runInfoPaths(dataDir);
  await writeFile(paths.info, `${JSON.stringify(info, null, 2)}\n`);
  await writeFile(paths.pid, `${info.pid}\n`);
}

/** The run info of the cluster that last ran in `dataDir`, if any (it may have died since). */
export function readRunInfo(dataDir: string): RunInfo | undefined {
  const paths = runInfoPaths(dataDir);
  try {
    const info = JSON.parse(readFileSync(paths.info, "utf8")) as RunInfo;
    const pid = Number(readFileSync(paths.pid, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? { ...info, pid } : undefined;
  } catch {
    return undefined;
  }
}

export function removeRunInfo(dataDir: string, pid: number): void {
  const paths = runInfoPaths(dataDir);
  try {
    if (Number(readFileSync(paths.pid, "utf8").trim()) !== pid) return;
  } catch {
    return;
  }
  rmSync(paths.pid, { force: true });
  rmSync(paths.info, { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
