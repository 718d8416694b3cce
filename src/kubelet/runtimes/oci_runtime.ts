/**
 * The `oci` runtime: a container runs from its image's unpacked root, by a real OCI runtime
 * (`crun`, else `runc`) from a generated runtime-spec `config.json` (oci_spec.ts), as containerd
 * drives runc for the kubelet.
 *
 * Layout, all under `<dataDir>/oci/` (the cluster's own, locked data dir):
 * - `state/`: the runtime's state root (`crun --root`), so `crun list` there holds only this
 *   cluster's containers;
 * - `containers/<id>/`: the bundle: `config.json`, `rootfs` (the writable root), `upper` and
 *   `work` (overlayfs) and `pid` (the container's first process, host pid).
 * Container ids are `<prefix>-<random>`, the prefix per cluster (a hash of the data dir); cgroups
 * go under `/loopkube-<hash>/<id>` (machine-wide names, hence the hash).
 *
 * One start is one process tree: a supervisor `sh` (under `setpriv --pdeathsig USR1`), then
 * `unshare --mount` (a private mount namespace), in which the writable root is mounted
 * (overlayfs over the image's rootfs, or a copy), a hybrid host's cgroup2 mount is hidden from
 * crun, and `crun run` runs in the foreground. So the overlay mount exists only in that
 * namespace (and the container's): it is gone with the container, nothing is mounted on the
 * host. stdout/stderr go to the container's log as the process runtime's do. A `tty` container
 * (with stdin) has `process.terminal`: crun, run in the foreground under util-linux `script`
 * (so its own stdin is a terminal, set raw by crun), makes the pty inside the container and
 * copies between the two; the program sees /dev/pts/0, the log gets the terminal's output, the
 * resize of attach sets the inner pty's size from the host (tty.ts). crun forwards the
 * signals it gets to the container; `kill` asks `crun kill`. When the agent dies (even
 * `kill -9`) the supervisor gets USR1 and kills the container with `crun kill … KILL`; `reconcile`
 * at start kills and deletes whatever the state root still lists and removes every bundle left.
 *
 * Without root (`support.rootless`, oci_rootless.ts): the same tree, but the private mount
 * namespace is made inside a user namespace (the node helper's, else a new one), a hybrid host's
 * cgroup mounts are covered by a tmpfs there (a user namespace may not unmount them), crun runs
 * with `--cgroup-manager=disabled`, and the `config.json` has no cgroups. `crun exec` and `crun
 * kill` from outside work as they are (crun joins the container's user namespace; same uid).
 *
 * @module
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import type { ContainerLog } from "../logfile.ts";
import type { OciSupport } from "./oci_detect.ts";
import { type RootlessUserns, rootlessSpec, rootlessUser, usernsPrefix } from "./oci_rootless.ts";
import { ALL_CAPABILITIES, ociSpec, type PreparedImage, resolveUser } from "./oci_spec.ts";
import { type ContainerExit, type ContainerHandle, pipeCri } from "./process_container.ts";

export interface OciStart {
  pod: Pod;
  container: Container;
  image: PreparedImage;
  /** argv after kube's table and `$(VAR)` expansion. */
  args: string[];
  env: Record<string, string>;
  log: ContainerLog;
  hostname: string;
  etc: { hosts: string; hostname: string; resolvConf: string };
  volumes: Array<{ source: string; destination: string; readOnly: boolean }>;
  netnsPath?: string | undefined;
  stdin?: boolean;
  /** The program runs on a pty (`tty` and `stdin`); see the module header. */
  tty?: boolean;
  /** A PID namespace to join (an ephemeral container's target's). */
  pidNamespacePath?: string | undefined;
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

// $1: the runtime binary, $2: its state root, $3: the container id; the rest: the command.
// The supervisor's own traps are reset in the command by exec; fd 3 carries its stdin (a
// background job of a non-interactive shell would get /dev/null).
const SUPERVISOR = [
  "rt=$1 root=$2 id=$3; shift 3",
  'trap \'"$rt" --root "$root" kill "$id" KILL 2>/dev/null\' USR1',
  "trap ':' TERM HUP INT",
  "exec 3<&0",
  '"$@" <&3 3<&- &',
  "exec 3<&-",
  "c=$!",
  "while :; do",
  ' wait "$c"; s=$?',
  ' kill -0 "$c" 2>/dev/null || exit "$s"',
  "done",
].join("\n");

export class OciRuntime {
  readonly base: string;
  readonly stateRoot: string;
  /** Per-cluster prefix of container ids. */
  readonly prefix: string;
  /** The cgroup parent of every container of this cluster. */
  readonly cgroupParent: string;

  /** Without root: whose user namespace crun runs in (the node helper's pid), else a new one. */
  private readonly userns: RootlessUserns;

  constructor(
    readonly support: OciSupport & { binary: string },
    dataDir: string,
    private readonly onError: (e: unknown) => void = () => {},
    options: { usernsPid?: number | undefined } = {},
  ) {
    this.userns = options.usernsPid ? { pid: options.usernsPid } : "own";
    this.base = join(dataDir, "oci");
    this.stateRoot = join(this.base, "state");
    const hash = createHash("sha256").update(dataDir).digest("hex").slice(0, 8);
    this.prefix = `lk${hash}`;
    this.cgroupParent = `/loopkube-${hash}`;
  }

  private bundleOf(id: string): string {
    return join(this.base, "containers", id);
  }

  /** Runs the runtime binary with the state root; resolves with its exit and output. */
  private runtime(args: string[]): Promise<{ ok: boolean; out: string }> {
    return new Promise((resolve) => {
      execFile(
        this.support.binary,
        ["--root", this.stateRoot, ...args],
        { timeout: 15_000 },
        (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}` }),
      );
    });
  }

  /**
   * After a crash or `kill -9` of the agent: every container the state root lists is killed and
   * deleted, every bundle left is removed, and this cluster's empty cgroups go.
   */
  async reconcile(): Promise<number> {
    mkdirSync(this.stateRoot, { recursive: true });
    let ids: string[] = [];
    try {
      ids = readdirSync(this.stateRoot).filter((n) => n.startsWith(this.prefix));
    } catch {
      ids = [];
    }
    for (const id of ids) {
      await this.runtime(["kill", id, "KILL"]);
      await this.runtime(["delete", "--force", id]);
      rmSync(join(this.stateRoot, id), { recursive: true, force: true });
    }
    const dir = join(this.base, "containers");
    let left: string[] = [];
    try {
      left = readdirSync(dir);
    } catch {
      left = [];
    }
    for (const id of left) this.removeTree(join(dir, id));
    this.removeCgroups();
    return ids.length + left.length;
  }

  /**
   * Removes a bundle. Without root, a directory the container left without write permission
   * (its files are all the user's) is removed as uid 0 of a user namespace of the user's.
   */
  private removeTree(path: string): void {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if (!this.support.rootless) {
        this.onError(e);
        return;
      }
      const r = spawnSync("unshare", ["--map-root-user", "rm", "-rf", "--", path]);
      if (r.status !== 0) this.onError(new Error(`removing ${path}: ${String(r.stderr).trim()}`));
    }
  }

  /** Removes this cluster's cgroup parents (rmdir fails on a cgroup still in use: kept). */
  removeCgroups(): void {
    let controllers: string[] = [];
    try {
      controllers = readdirSync("/sys/fs/cgroup");
    } catch {
      return;
    }
    const name = this.cgroupParent.slice(1);
    for (const c of controllers) {
      const at = join("/sys/fs/cgroup", c, name);
      try {
        for (const child of readdirSync(at, { withFileTypes: true })) {
          if (child.isDirectory()) rmdirSafe(join(at, child.name));
        }
        rmdirSafe(at);
      } catch {
        // Not there.
      }
    }
  }

  /**
   * The command prefix that runs a command inside a running container (exec, probes), as its
   * user and in its working directory, as the CRI's exec does (crun's own default is root in /).
   */
  execPrefix(
    id: string,
    tty: boolean,
    process: { cwd: string; user: { uid: number; gid: number } },
  ): string[] {
    return [
      this.support.binary,
      "--root",
      this.stateRoot,
      "exec",
      "--cwd",
      process.cwd,
      "--user",
      `${process.user.uid}:${process.user.gid}`,
      ...(tty ? ["-t"] : []),
      id,
    ];
  }

  /**
   * Resolves once container `id` is created (its pid file and the runtime's state written, so
   * `exec` finds it: kube reports Running only after the CRI's start returned), or its start has
   * ended, or after `timeoutMs`.
   */
  async created(id: string, exited: Promise<unknown>, timeoutMs = 30_000): Promise<void> {
    let ended = false;
    void exited.then(() => {
      ended = true;
    });
    const state = this.support.kind === "runc" ? "state.json" : "status";
    const files = [join(this.bundleOf(id), "pid"), join(this.stateRoot, id, state)];
    const deadline = Date.now() + timeoutMs;
    while (!ended && Date.now() < deadline && !files.every((f) => existsSync(f))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Creates the bundle and starts the container; the handle's `exited` settles at its end. */
  start(o: OciStart): ContainerHandle & { id: string; enter: (tty: boolean) => string[] } {
    const id = `${this.prefix}-${randomBytes(8).toString("hex")}`;
    const bundle = this.bundleOf(id);
    const rootfs = join(bundle, "rootfs");
    for (const d of ["rootfs", "upper", "work"]) mkdirSync(join(bundle, d), { recursive: true });
    const sc = { ...o.pod.spec?.securityContext, ...o.container.securityContext };
    const resolved = resolveUser(
      o.image.config.user,
      {
        ...(sc.runAsUser != null ? { runAsUser: sc.runAsUser } : {}),
        ...(sc.runAsGroup != null ? { runAsGroup: sc.runAsGroup } : {}),
        ...(o.pod.spec?.securityContext?.supplementalGroups
          ? { supplementalGroups: o.pod.spec.securityContext.supplementalGroups }
          : {}),
        ...(o.pod.spec?.securityContext?.fsGroup != null
          ? { fsGroup: o.pod.spec.securityContext.fsGroup }
          : {}),
      },
      {
        passwd: readImageFile(o.image.rootfs, "etc/passwd"),
        group: readImageFile(o.image.rootfs, "etc/group"),
      },
    );
    let user = resolved;
    try {
      if (this.support.rootless) user = rootlessUser(resolved);
    } catch (e) {
      rmSync(bundle, { recursive: true, force: true });
      throw e;
    }
    const container: Container = {
      ...o.container,
      securityContext: {
        ...o.container.securityContext,
        ...(sc.runAsNonRoot !== undefined ? { runAsNonRoot: sc.runAsNonRoot } : {}),
      },
    };
    if (container.securityContext?.runAsNonRoot && user.uid === 0) {
      rmSync(bundle, { recursive: true, force: true });
      throw new OciConfigError("container has runAsNonRoot and image will run as root");
    }
    const generated = ociSpec({
      pod: o.pod,
      container,
      image: o.image.config,
      args: o.args,
      env: o.env,
      rootfs,
      user,
      hostname: o.hostname,
      etc: o.etc,
      volumes: o.volumes,
      netnsPath: o.netnsPath,
      pidNamespacePath: o.pidNamespacePath,
      ...(o.tty ? { terminal: true } : {}),
      ...(this.support.cgroups !== "none" && !this.support.rootless
        ? { cgroupsPath: `${this.cgroupParent}/${id}` }
        : {}),
      hostCapabilities: hostCapabilities(),
    });
    const spec = this.support.rootless
      ? rootlessSpec(generated, {
          ownNetwork: o.netnsPath !== undefined,
          hostPID: o.pod.spec?.hostPID === true && o.pidNamespacePath === undefined,
          hostIPC: o.pod.spec?.hostIPC === true,
        })
      : generated;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    const lower = o.image.rootfs;
    const inner = [
      "set -e",
      ...(this.support.hideCgroup2
        ? [
            this.support.rootless
              ? `mount -t tmpfs -o ro tmpfs ${q(dirname(this.support.hideCgroup2))}`
              : `umount ${q(this.support.hideCgroup2)}`,
          ]
        : []),
      this.support.overlay
        ? `mount -t overlay overlay -o ${q(`lowerdir=${lower},upperdir=${bundle}/upper,workdir=${bundle}/work`)} ${q(rootfs)}`
        : `cp -a ${q(`${lower}/.`)} ${q(rootfs)}`,
      `exec "$@"`,
    ].join("\n");
    const pidFile = join(bundle, "pid");
    const run = [
      ...(this.support.rootless
        ? usernsPrefix(this.userns)
        : ["unshare", "--mount", "--propagation", "private", "--"]),
      "sh",
      "-c",
      inner,
      "sh",
      this.support.binary,
      ...(this.support.rootless ? ["--cgroup-manager=disabled"] : []),
      "--root",
      this.stateRoot,
      "run",
      "--bundle",
      bundle,
      "--pid-file",
      pidFile,
      id,
    ];
    const argv = [
      ...(this.support.setpriv ? [this.support.setpriv, "--pdeathsig", "USR1", "--"] : []),
      "sh",
      "-c",
      SUPERVISOR,
      "sh",
      this.support.binary,
      this.stateRoot,
      id,
      // A terminal: crun in the foreground makes the container's pty (in the container's own
      // devpts) and copies between it and its own stdin/stdout, which must be a terminal too:
      // `script` gives it one, as it does for exec -it.
      ...(o.tty ? ["script", "-qfec", run.map(q).join(" "), "/dev/null"] : run),
    ];
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: bundle,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      detached: true,
      stdio: [o.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    child.stdin?.on("error", () => {});
    const pending: Promise<void>[] = [];
    if (child.stdout) pending.push(pipeCri(child.stdout, "stdout", o.log, o.tty === true));
    if (child.stderr) pending.push(pipeCri(child.stderr, "stderr", o.log));
    const exited = new Promise<ContainerExit>((resolve) => {
      child.once("error", () => {});
      child.once("close", (code, signal) => {
        void Promise.all(pending).then(async () => {
          await o.log.close();
          this.removeTree(bundle);
          try {
            rmdirSafe(join(this.stateRoot, id));
          } catch {
            // crun removed it.
          }
          if (signal) resolve({ exitCode: 137, signal });
          else resolve({ exitCode: code ?? 0 });
        });
      });
    });
    let pid: number | undefined;
    const self = this;
    const cwd = (spec.process as { cwd: string }).cwd;
    return {
      id,
      enter: (tty) => this.execPrefix(id, tty, { cwd, user }),
      containerID: `${this.support.kind}://${id}`,
      get pid() {
        if (pid === undefined) {
          try {
            const n = Number(readFileSync(pidFile, "utf8").trim());
            if (n > 0) pid = n;
          } catch {
            // Not started yet.
          }
        }
        return pid ?? child.pid;
      },
      exited,
      ...(child.stdin ? { stdin: child.stdin } : {}),
      kill(signal) {
        void self.runtime(["kill", id, signal.replace(/^SIG/, "")]).then((r) => {
          // Not created yet (or gone): the start itself is stopped (crun forwards what it gets).
          if (!r.ok && child.pid !== undefined) {
            try {
              process.kill(-child.pid, signal);
            } catch {
              // Gone.
            }
          }
        }, self.onError);
      },
    };
  }
}

/** Thrown for a container that cannot run as configured (CreateContainerConfigError). */
export class OciConfigError extends Error {
  override name = "OciConfigError";
}

function rmdirSafe(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // In use or gone.
  }
}

function readImageFile(rootfs: string, rel: string): string {
  try {
    return readFileSync(join(rootfs, rel), "utf8");
  } catch {
    return "";
  }
}

let hostCaps: string[] | undefined;
/** The capabilities in this process's bounding set (what a privileged container may get). */
function hostCapabilities(): string[] | undefined {
  if (hostCaps) return hostCaps;
  try {
    const line = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (!line) return undefined;
    const mask = BigInt(`0x${line}`);
    hostCaps = ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
    return hostCaps;
  } catch {
    return undefined;
  }
}
