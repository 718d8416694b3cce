/**
 * Runs the real kubectl against a given server with a throwaway configuration: an empty
 * kubeconfig, a private HOME and discovery cache, so nothing of the machine's own kubectl setup
 * is read or written. Finds the versioned binaries (`kubectl.1.32`, …) that some installations
 * keep next to a dispatching `kubectl`. Test-only.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";

export interface KubectlBinary {
  /** `kubectl` for the one on PATH, else its file name such as `kubectl.1.32`. */
  name: string;
  path: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `kubectl` found on PATH, or undefined. */
export function kubectlOnPath(): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, "kubectl");
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** `kubectl` plus every `kubectl.<major>.<minor>` beside its real location, oldest first. */
export function findKubectls(): KubectlBinary[] {
  const main = kubectlOnPath();
  if (!main) return [];
  const out: KubectlBinary[] = [{ name: "kubectl", path: main }];
  const dir = dirname(realpathSync(main));
  const versioned = readdirSync(dir)
    .filter((f) => /^kubectl\.\d+\.\d+$/.test(f))
    .sort((a, b) => minorOf(a) - minorOf(b));
  for (const f of versioned) out.push({ name: f, path: join(dir, f) });
  return out;
}

function minorOf(name: string): number {
  return Number(name.split(".")[2]);
}

/** A private HOME, empty kubeconfig and cache dir; `dispose` removes them. */
export interface KubectlSandbox {
  /** kubectl's working directory: relative `--from-file` paths resolve here. */
  dir: string;
  run(bin: string, args: string[], opts?: { stdin?: string }): Promise<KubectlResult>;
  dispose(): void;
}

export function kubectlSandbox(server: string): KubectlSandbox {
  const home = mkdtempSync(join(tmpdir(), "loopkube-kubectl-"));
  const kubeconfig = join(home, "kubeconfig");
  writeFileSync(kubeconfig, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"] ?? "",
    HOME: home,
    KUBECONFIG: kubeconfig,
    // The cloud SDK dispatcher otherwise may look for its own configuration under HOME.
    CLOUDSDK_CONFIG: join(home, "gcloud"),
  };
  return {
    dir: home,
    run: (bin, args, opts) =>
      new Promise((resolve) => {
        const full = [
          `--server=${server}`,
          `--kubeconfig=${kubeconfig}`,
          `--cache-dir=${join(home, "cache")}`,
          ...args,
        ];
        const child = execFile(
          bin,
          full,
          { env, cwd: home, timeout: 30_000 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
        if (opts?.stdin !== undefined) child.stdin?.end(opts.stdin);
        else child.stdin?.end();
      }),
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}
