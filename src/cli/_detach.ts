/**
 * `up --detach`: re-runs this same command (same Node flags and script, minus `--detach`) as a
 * detached child whose output goes to `<data-dir>/loopkube.log`, and returns once that child has
 * written its pid file and `/readyz` answers ok — or reports the log's last lines if it died.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import {
  ClusterError,
  defaultDataDir,
  isProcessAlive,
  probeReadyz,
  readClusterKubeconfig,
  readRunInfo,
  readUiUrl,
  runInfoPaths,
} from "../cluster/index.ts";
import type { Io } from "./_shared.ts";

const START_TIMEOUT_MS = 60_000;

export async function detach(dataDir: string, name: string, io: Io): Promise<void> {
  const running = readRunInfo(dataDir);
  if (running && isProcessAlive(running.pid)) {
    throw new ClusterError(
      `data dir ${dataDir} is in use by a running cluster (pid ${running.pid}); stop it with \`loopkube down\``,
    );
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const paths = runInfoPaths(dataDir);
  const log = openSync(paths.log, "a");
  const args = process.argv.slice(2).filter((a) => a !== "--detach");
  // The child must use this very data dir, whatever default it would compute.
  if (!args.some((a) => a === "--data-dir" || a.startsWith("--data-dir="))) {
    args.push("--data-dir", dataDir);
  }
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? "", ...args], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      throw new ClusterError(
        `the detached cluster exited (code ${exited}): ${lastLines(paths.log)} (log: ${paths.log})`,
      );
    }
    const info = readRunInfo(dataDir);
    const kubeconfig = readClusterKubeconfig(dataDir);
    if (info && info.pid === child.pid && kubeconfig) {
      const r = await probeReadyz(kubeconfig).catch(() => undefined);
      if (r?.status === 200) {
        child.unref();
        io.out(`Cluster "${name}" is running in the background (pid ${child.pid})`);
        io.out(`  API server:  ${info.apiUrl}`);
        io.out(`  kubeconfig:  ${info.kubeconfigPath}`);
        io.out(`  DNS:         ${info.dns.host}:${info.dns.port}`);
        const ui = readUiUrl(dataDir);
        if (ui) io.out(`  web view:    ${ui}`);
        io.out(`  log:         ${paths.log}`);
        const target = `${name === "loopkube" ? "" : ` --name ${name}`}${dataDir === defaultDataDir(name) ? "" : ` --data-dir ${dataDir}`}`;
        io.out(`Stop it with: loopkube down${target}`);
        return;
      }
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new ClusterError(
        `the detached cluster did not become ready within ${START_TIMEOUT_MS / 1000} s; see ${paths.log}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lastLines(path: string): string {
  try {
    const last = readFileSync(path, "utf8").trim().split("\n").at(-1) ?? "";
    return messageOf(last).replace(/^loopkube: /, "");
  } catch {
    return "no log";
  }
}

/** A `--log-format json` record's `msg`, or the line itself. */
function messageOf(line: string): string {
  try {
    const record = JSON.parse(line) as { msg?: unknown };
    return typeof record.msg === "string" ? record.msg : line;
  } catch {
    return line;
  }
}
