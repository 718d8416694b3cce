/**
 * `loopkube status`: whether the cluster runs, its addresses, `/readyz` per component, and
 * object counts read through the API (as any client would).
 *
 * @module
 */
import type { Command } from "commander";
import { REFS } from "../api/refs.ts";
import { createHttpClient, loadKubeconfigFile } from "../client/index.ts";
import { isProcessAlive, readClusterKubeconfig, readRunInfo } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, probeReadyz, type TargetOptions } from "./_shared.ts";

export function addStatusCommand(program: Command): void {
  program
    .command("status")
    .description("show whether the cluster runs, its components, addresses and object counts")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .action(async (o: TargetOptions) => {
      const dir = dataDirOf(o);
      const info = readRunInfo(dir);
      if (!info || !isProcessAlive(info.pid)) {
        console.log(`cluster "${o.name}" is not running (data dir ${dir})`);
        process.exitCode = 3;
        return;
      }
      const kubeconfig = readClusterKubeconfig(dir) ?? "";
      console.log(`cluster "${o.name}" is running (pid ${info.pid})`);
      console.log(`  API server:  ${info.apiUrl}`);
      console.log(`  kubeconfig:  ${info.kubeconfigPath}`);
      console.log(`  DNS:         ${info.dns.host}:${info.dns.port}`);
      console.log(
        `  node agent:  ${info.nodeAgent ? "running" : "not running (pods stay Pending)"}`,
      );
      const ready = await probeReadyz(kubeconfig).catch((err: Error) => ({
        status: 0,
        body: err.message,
      }));
      console.log(`  readyz:      ${ready.status === 200 ? "ok" : `not ready (${ready.status})`}`);
      for (const line of ready.body.split("\n").filter((l) => l.startsWith("[")))
        console.log(`    ${line}`);
      const client = createHttpClient(loadKubeconfigFile(info.kubeconfigPath));
      const counts: string[] = [];
      for (const [label, ref] of [
        ["nodes", REFS.nodes],
        ["namespaces", REFS.namespaces],
        ["pods", REFS.pods],
        ["services", REFS.services],
        ["deployments", REFS.deployments],
        ["statefulsets", REFS.statefulsets],
      ] as const) {
        const n = await client
          .list(ref, "")
          .then((l) => String(l.items.length))
          .catch(() => "?");
        counts.push(`${label} ${n}`);
      }
      console.log(`  objects:     ${counts.join(", ")}`);
    });
}
