/**
 * `loopkube kubeconfig`: prints the cluster's self-contained kubeconfig (as `kind get
 * kubeconfig` does), so `loopkube kubeconfig > cfg` or `KUBECONFIG=<(loopkube kubeconfig)` work.
 *
 * @module
 */
import type { Command } from "commander";
import { ClusterError, readClusterKubeconfig, userKubeconfig } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

export function addKubeconfigCommand(program: Command, io: Io): void {
  program
    .command("kubeconfig")
    .description("print the cluster's kubeconfig")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .option(
      "--user <user>",
      "a kubeconfig for this user (client certificate CN) instead of the admin",
    )
    .option(
      "--group <group>",
      "a group of --user (certificate O); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (o: TargetOptions & { user?: string; group: string[] }) => {
      const dir = dataDirOf(o);
      if (o.user !== undefined) {
        io.raw(await userKubeconfig(dir, { name: o.user, groups: o.group }));
        return;
      }
      if (o.group.length > 0) throw new ClusterError("--group needs --user");
      const text = readClusterKubeconfig(dir);
      if (text === undefined) {
        throw new ClusterError(
          `cluster "${o.name}" has no kubeconfig in ${dir}; start it with \`loopkube up\``,
        );
      }
      io.raw(text);
    });
}
