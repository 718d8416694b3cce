/**
 * The `loopkube` command. Each subcommand lives in its own file; this one only assembles them
 * and turns errors a user can meet (`ClusterError`, bad arguments) into one line without a stack.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../api/version.ts";
import { isClusterError } from "../cluster/index.ts";
import { addDeleteCommand } from "./delete.ts";
import { addDownCommand } from "./down.ts";
import { addKubeconfigCommand } from "./kubeconfig.ts";
import { addStatusCommand } from "./status.ts";
import { addUpCommand } from "./up.ts";
import { addVersionCommand } from "./version.ts";

export function buildProgram(): Command {
  const program = new Command("loopkube")
    .description("A Kubernetes-compatible cluster in one Node.js process.")
    .version(VERSION, "-v, --version")
    .showHelpAfterError("(run with --help for usage)");
  addUpCommand(program);
  addDownCommand(program);
  addStatusCommand(program);
  addKubeconfigCommand(program);
  addDeleteCommand(program);
  addVersionCommand(program);
  return program;
}

/** Runs the command line; user errors print one sentence and set exit code 1. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and version exit 0.
      process.exitCode = err.exitCode;
      return;
    }
    if (isClusterError(err)) {
      console.error(`loopkube: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
