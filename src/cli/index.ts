/**
 * The `loopkube` command. Each subcommand lives in its own file; this one only assembles them.
 *
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../api/version.ts";

export function buildProgram(): Command {
  const program = new Command("loopkube")
    .description("A Kubernetes-compatible cluster in one Node.js process.")
    .version(VERSION, "-v, --version");
  program
    .command("version")
    .description("print the loopkube version and the Kubernetes version it speaks")
    .action(() => {
      console.log(`loopkube ${VERSION} (Kubernetes API v1.32)`);
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
