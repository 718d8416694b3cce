/**
 * Finding and running the real kubectl in tests. The installed `kubectl` may be the Google Cloud
 * SDK dispatcher; versioned binaries (`kubectl.1.31`, …) sit beside the real file. A test that
 * needs kubectl skips with the reason when none is installed.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export const KUBECTL = onPath("kubectl");

/** The versioned kubectl binaries present beside the installed one, e.g. `{ "1.31": path }`. */
export function kubectlVersions(wanted: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!KUBECTL) return out;
  const dir = dirname(realpathSync(KUBECTL));
  for (const v of wanted) {
    const p = join(dir, `kubectl.${v}`);
    if (existsSync(p)) out[v] = p;
  }
  return out;
}

export const NO_KUBECTL = KUBECTL
  ? false
  : "kubectl is not installed (install it to run the kubectl acceptance tests)";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  bin: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
