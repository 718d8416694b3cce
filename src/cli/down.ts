/**
 * `loopkube down`: stops the cluster running on a data dir (detached or in another terminal) by
 * sending it SIGTERM, then waits for the process to finish its graceful stop.
 *
 * @module
 */
import type { Command } from "commander";
import { ClusterError, isProcessAlive, readRunInfo } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

const STOP_TIMEOUT_MS = 120_000;

/** Stops the cluster in `dataDir` if one runs; resolves to its pid, or undefined if none ran. */
export async function stopRunningCluster(dataDir: string): Promise<number | undefined> {
  const info = readRunInfo(dataDir);
  if (!info || !isProcessAlive(info.pid)) return undefined;
  process.kill(info.pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isProcessAlive(info.pid)) {
    if (Date.now() > deadline) {
      throw new ClusterError(
        `cluster process ${info.pid} did not stop within ${STOP_TIMEOUT_MS / 1000} s; kill it with \`kill -9 ${info.pid}\``,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return info.pid;
}

export function addDownCommand(program: Command, io: Io): void {
  program
    .command("down")
    .description("stop a running cluster (pods stop gracefully); its data is kept")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .action(async (o: TargetOptions) => {
      const pid = await stopRunningCluster(dataDirOf(o));
      io.out(
        pid === undefined
          ? `cluster "${o.name}" is not running`
          : `stopped cluster "${o.name}" (pid ${pid})`,
      );
    });
}
