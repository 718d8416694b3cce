/**
 * The command line's shape for the shell completions, read from the commander program itself
 * (so a new command or flag is completed without touching the scripts): each command with its
 * description, its options (flags, whether they take a value, what that value can be) and its
 * arguments' choices.
 *
 * What a value can be comes from the option's definition: its `choices`, else its placeholder —
 * `<dir>` a directory, `<file>`/`<path>` a file or folder, `<name>` a cluster name (completed
 * from `loopkube list -o name`), anything else free text.
 *
 * @module
 */
import type { Command, Option } from "commander";

export type ValueHint =
  | { kind: "choices"; choices: string[] }
  | { kind: "dir" }
  | { kind: "file" }
  | { kind: "cluster" }
  | { kind: "text" };

export interface OptionSpec {
  short?: string;
  long?: string;
  description: string;
  /** undefined: a switch; else what its value can be. */
  value?: ValueHint;
  /** May be given more than once (`-f a -f b`, `-vv`). */
  repeatable: boolean;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  /** Choices of each positional argument, in order (empty: free text). */
  args: string[][];
}

export interface CompletionTree {
  name: string;
  options: OptionSpec[];
  commands: CommandSpec[];
}

export function completionTree(program: Command): CompletionTree {
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  const names = commands.map((c) => c.name()).filter((n) => n !== "help");
  return {
    name: program.name(),
    options: help.visibleOptions(program).map(optionSpec),
    commands: commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      options: c.createHelp().visibleOptions(c).map(optionSpec),
      // commander's own `help [command]` takes a command name.
      args: c.name() === "help" ? [names] : c.registeredArguments.map((a) => a.argChoices ?? []),
    })),
  };
}

function optionSpec(o: Option): OptionSpec {
  const takesValue = o.required || o.optional;
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? "";
  const value: ValueHint | undefined = !takesValue
    ? undefined
    : o.argChoices
      ? { kind: "choices", choices: o.argChoices }
      : placeholder === "dir"
        ? { kind: "dir" }
        : placeholder === "file" || placeholder === "path"
          ? { kind: "file" }
          : placeholder === "name"
            ? { kind: "cluster" }
            : { kind: "text" };
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    ...(value ? { value } : {}),
    repeatable:
      Array.isArray(o.defaultValue) || (!takesValue && typeof o.defaultValue === "number"),
  };
}

/** Every spelling of an option: `-f`, `--filename`. */
export function flagsOf(o: OptionSpec): string[] {
  return [o.short, o.long].filter((f): f is string => f !== undefined);
}
