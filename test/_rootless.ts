/**
 * The set-up of the end-to-end tests that run loopkube without root: a root test starts
 * `loopkube` as an unprivileged user (`runuser`; `$LOOPKUBE_ROOTLESS_USER`, default `nobody`)
 * with a home of its own, after checking that the user can make user namespaces and reach this
 * checkout's node and tsx.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliEnv, ENTRY, ROOT } from "./_cli.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

export const USER = process.env.LOOPKUBE_ROOTLESS_USER || "nobody";
const NODE = process.execPath;

/**
 * Why `file` cannot run here, printed once, or undefined: not root on Linux, no runuser, what
 * `needs` says is missing, a user who cannot `unshare` (with `unshareFlags`) or run this
 * checkout, no kubectl.
 */
export function rootlessSkip(
  file: string,
  options: { needs?: () => string | undefined; unshareFlags?: string[] } = {},
): string | undefined {
  const why = skipReason(options.needs, options.unshareFlags ?? ["-r", "-n"]);
  if (why) console.log(`# ${file} skipped: ${why}`);
  return why;
}

function skipReason(
  needs: (() => string | undefined) | undefined,
  unshareFlags: string[],
): string | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    return "the rootless test starts loopkube as another user: run it as root on Linux";
  }
  if (spawnSync("runuser", ["--version"]).status !== 0) return "runuser (util-linux) is missing";
  const missing = needs?.();
  if (missing) return missing;
  const trial = spawnSync("runuser", ["-u", USER, "--", "unshare", ...unshareFlags, "true"]);
  if (trial.status !== 0) {
    return `user ${USER} cannot make user namespaces here: ${String(trial.stderr).trim()}`;
  }
  // The user runs this checkout's node and tsx: a checkout or node under a private directory
  // (a 0700 home or temp dir, as some CI clones are) is out of its reach.
  const reach = spawnSync(
    "runuser",
    ["-u", USER, "--", NODE, "--import", "tsx", ENTRY, "--version"],
    {
      cwd: ROOT,
    },
  );
  if (reach.status !== 0) {
    const why = String(reach.stderr)
      .trim()
      .split("\n")
      .find((l) => /denied|EACCES|ENOENT|Error/.test(l));
    return `user ${USER} cannot run this checkout's node and loopkube (${why ?? `exit ${reach.status}`})`;
  }
  return NO_KUBECTL || undefined;
}

/** A new temporary home owned by the user, and the environment of a user living there. */
export function userHome(prefix: string): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(home, 0o755);
  const id = (flag: string) => Number(spawnSync("id", [flag, USER]).stdout.toString().trim());
  chownSync(home, id("-u"), id("-g"));
  return { home, env: cliEnv(home) };
}

/** `runuser`'s arguments that run `loopkube args` as the user, in `env`'s home. */
export function asUser(env: NodeJS.ProcessEnv, args: string[]): string[] {
  const userEnv = ["HOME", "KUBECONFIG", "XDG_DATA_HOME", "PATH"].map((k) => `${k}=${env[k]}`);
  return ["-u", USER, "--", "env", ...userEnv, NODE, "--import", "tsx", ENTRY, ...args];
}

/**
 * Starts `loopkube up args` as the user and resolves once it is up; everything it prints goes to
 * `onOutput`. Rejects with what it printed if it exits first.
 */
export function upAsUser(
  env: NodeJS.ProcessEnv,
  args: string[],
  onOutput: (text: string) => void,
): Promise<ChildProcess> {
  const up = spawn("runuser", asUser(env, ["up", ...args]), { cwd: ROOT, env });
  let out = "";
  return new Promise<ChildProcess>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      onOutput(String(d));
      if (/Press Ctrl-C to stop/.test(out)) resolve(up);
    };
    up.stdout?.on("data", onData);
    up.stderr?.on("data", onData);
    up.once("exit", (code) => reject(new Error(`up exited (${code}):\n${out}`)));
  });
}
