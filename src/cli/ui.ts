/**
 * `loopkube ui`: the web view's address of a running cluster (with its access token), printed,
 * and opened in the desktop's browser with `--open` (through `xdg-open` or `open`, when there is
 * one). Exit status 3 when the cluster does not run, 1 when it runs without the web view.
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { readClusterRecord, readRunInfo, readUiUrl } from "../cluster/index.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

export function addUiCommand(program: Command, io: Io): void {
  program
    .command("ui")
    .description("print (or --open) the address of a running cluster's web view")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .option("--open", "open it in the desktop's browser (xdg-open or open)")
    .action((o: TargetOptions & { open?: boolean }) => {
      const dir = dataDirOf(o);
      const running = readClusterRecord(dir)?.state === "running" && readRunInfo(dir) !== undefined;
      if (!running) {
        io.err(`loopkube: cluster "${o.name}" is not running (start it with \`loopkube up\`)`);
        io.setExitCode(3);
        return;
      }
      const url = readUiUrl(dir);
      if (!url) {
        io.err(
          `loopkube: cluster "${o.name}" runs without the web view (it was started with --no-ui)`,
        );
        io.setExitCode(1);
        return;
      }
      io.out(url);
      if (o.open) {
        const opener = process.platform === "darwin" ? "open" : "xdg-open";
        const child = spawn(opener, [url], { stdio: "ignore", detached: true });
        child.on("error", () => io.err(`loopkube: could not run ${opener}; open the URL above`));
        child.unref();
      }
    });
}
