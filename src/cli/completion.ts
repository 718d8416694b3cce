/**
 * `loopkube completion bash|zsh|fish`: prints a completion script for the shell, generated from
 * this program's own command definitions (_completion-tree.ts), so every command and flag is
 * completed and the scripts cannot fall behind the CLI. How to load each is in its first lines.
 *
 * @module
 */
import { Argument, type Command } from "commander";
import { bashScript } from "./_completion-bash.ts";
import { fishScript } from "./_completion-fish.ts";
import { completionTree } from "./_completion-tree.ts";
import { zshScript } from "./_completion-zsh.ts";
import type { Io } from "./_shared.ts";

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript };

export function addCompletionCommand(program: Command, io: Io): void {
  program
    .command("completion")
    .description("print a shell completion script (source <(loopkube completion bash))")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(Object.keys(SCRIPTS)))
    .action((shell: keyof typeof SCRIPTS) => {
      io.raw(SCRIPTS[shell](completionTree(program)));
    });
}
