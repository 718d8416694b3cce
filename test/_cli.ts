/**
 * Running the `loopkube` command as a user runs it, for the end-to-end tests: a child process per
 * invocation with HOME, KUBECONFIG and XDG_DATA_HOME pointing into a temporary directory, so
 * nothing of the user's is touched.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..");
export const ENTRY = join(ROOT, "src", "cli", "main.ts");

/**
 * Node's arguments that run `loopkube`: under scripts/test.mjs, these sources bundled as users get
 * them (`LOOPKUBE_TEST_CLI`, built by scripts/bundle.mjs at the start of the run; a start costs a
 * tenth of one through tsx); otherwise the sources through tsx.
 */
export const LOOPKUBE: readonly string[] = process.env.LOOPKUBE_TEST_CLI
  ? [process.env.LOOPKUBE_TEST_CLI]
  : ["--import", "tsx", ENTRY];

/** The environment of a user whose home is `home`. */
export function cliEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    KUBECONFIG: join(home, "kube", "config"),
    XDG_DATA_HOME: join(home, "data"),
  };
}

/** Runs one `loopkube` command to its end. */
export function runLoopkube(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...LOOPKUBE, ...args],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * Starts `loopkube up` and resolves with its output once it printed `line`. Pods run in the
 * `process` runtime (the tests' pods run host commands, and no test pulls from the internet)
 * unless `args` name another `--runtime`, which wins as the later flag.
 */
export function startUp(
  args: string[],
  line: RegExp,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [...LOOPKUBE, "up", "--runtime", "process", ...args], {
    cwd: ROOT,
    env,
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      if (line.test(out)) resolve({ child, out: () => out });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`up exited (${code}) before ${line}:\n${out}`)));
  });
}
