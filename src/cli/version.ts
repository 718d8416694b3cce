/**
 * `loopkube version`: loopkube's version and the Kubernetes API version it serves.
 *
 * @module
 */
import type { Command } from "commander";
import { VERSION } from "../api/version.ts";
import { KUBERNETES_VERSION } from "../cluster/index.ts";
import type { Io } from "./_shared.ts";

export function versionText(): string {
  const k = KUBERNETES_VERSION;
  return `loopkube ${VERSION} (Kubernetes API v${k.major}.${k.minor}.${k.patch})`;
}

export function addVersionCommand(program: Command, io: Io): void {
  program
    .command("version")
    .description("print the loopkube version and the Kubernetes version it speaks")
    .action(() => {
      io.out(versionText());
    });
}
