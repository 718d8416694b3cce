/**
 * `loopkube delete`: stops the cluster if it runs, removes its data dir and its
 * `loopkube-<name>` context from the user's kubeconfig, as `kind delete cluster` does.
 *
 * @module
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { contextName, forgetUserContext, removeDataDir } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";
import { stopRunningCluster } from "./down.ts";

export function addDeleteCommand(program: Command, io: Io): void {
  program
    .command("delete")
    .description("stop the cluster, delete its data dir and its kubeconfig context")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .action(async (o: TargetOptions) => {
      const dir = dataDirOf(o);
      await stopRunningCluster(dir);
      const existed = existsSync(dir);
      await removeDataDir(dir);
      await forgetUserContext(o.name);
      io.out(
        existed
          ? `deleted cluster "${o.name}" (${dir}) and context ${contextName(o.name)}`
          : `cluster "${o.name}" has no data dir; removed context ${contextName(o.name)} if present`,
      );
    });
}
