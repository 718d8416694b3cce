/**
 * The `loopkube` command. Each subcommand lives in its own file; this one only assembles them
 * and turns errors a user can meet (`ClusterError`, bad arguments) into one line without a stack.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../api/version.ts";
import { isClusterError } from "../cluster/index.ts";
import { type Io, PROCESS_IO } from "./_shared.ts";
import { addCompletionCommand } from "./completion.ts";
import { addDeleteCommand } from "./delete.ts";
import { addDownCommand } from "./down.ts";
import { addImagesCommand } from "./images.ts";
import { addKubeconfigCommand } from "./kubeconfig.ts";
import { addListCommand } from "./list.ts";
import { addLogsCommand } from "./logs.ts";
import { addStatusCommand } from "./status.ts";
import { addUiCommand } from "./ui.ts";
import { addUpCommand } from "./up.ts";
import { addVersionCommand } from "./version.ts";

export function buildProgram(io: Io = PROCESS_IO): Command {
  const program = new Command("loopkube")
    .description("A Kubernetes-compatible cluster in one Node.js process.")
    // -V: `-v` is `up`'s verbosity, as kubectl's and kind's.
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.raw, writeErr: (s) => io.err(s.trimEnd()) })
    // Set before the subcommands are added: they copy it, so no command calls process.exit.
    .exitOverride();
  addUpCommand(program, io);
  addDownCommand(program, io);
  addStatusCommand(program, io);
  addListCommand(program, io);
  addLogsCommand(program, io);
  addUiCommand(program, io);
  addKubeconfigCommand(program, io);
  addDeleteCommand(program, io);
  addImagesCommand(program, io);
  addCompletionCommand(program, io);
  addVersionCommand(program, io);
  return program;
}

/** Runs the command line; user errors print one sentence and set exit code 1. */
export async function main(argv: string[], io: Io = PROCESS_IO): Promise<void> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and version exit 0.
      io.setExitCode(err.exitCode);
      return;
    }
    if (isClusterError(err)) {
      io.err(`loopkube: ${err.message}`);
      io.setExitCode(1);
      return;
    }
    throw err;
  }
}
