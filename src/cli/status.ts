/**
 * `loopkube status`: whether the cluster runs, its addresses, `/readyz` per component, and
 * object counts read through the API (as any client would).
 *
 * @module
 */
import type { Command } from "commander";
import {
  countObjects,
  describeRanges,
  isProcessAlive,
  probeReadyz,
  readClusterKubeconfig,
  readRunInfo,
} from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

export function addStatusCommand(program: Command, io: Io): void {
  program
    .command("status")
    .description("show whether the cluster runs, its components, addresses and object counts")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .action(async (o: TargetOptions) => {
      const dir = dataDirOf(o);
      const info = readRunInfo(dir);
      if (!info || !isProcessAlive(info.pid)) {
        io.out(`cluster "${o.name}" is not running (data dir ${dir})`);
        io.setExitCode(3);
        return;
      }
      const kubeconfig = readClusterKubeconfig(dir) ?? "";
      io.out(`cluster "${o.name}" is running (pid ${info.pid})`);
      io.out(`  API server:  ${info.apiUrl}`);
      io.out(`  kubeconfig:  ${info.kubeconfigPath}`);
      io.out(`  DNS:         ${info.dns.host}:${info.dns.port}`);
      for (const line of describeRanges(info)) io.out(`  ${line}`);
      io.out(`  node agent:  ${info.nodeAgent ? "running" : "not running (pods stay Pending)"}`);
      const ready = await probeReadyz(kubeconfig).catch((err: Error) => ({
        status: 0,
        body: err.message,
      }));
      io.out(`  readyz:      ${ready.status === 200 ? "ok" : `not ready (${ready.status})`}`);
      for (const line of ready.body.split("\n").filter((l) => l.startsWith("[")))
        io.out(`    ${line}`);
      const counts = (await countObjects(info.kubeconfigPath)).map(([k, n]) => `${k} ${n}`);
      io.out(`  objects:     ${counts.join(", ")}`);
    });
}
