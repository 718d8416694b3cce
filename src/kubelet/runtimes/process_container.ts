/**
 * The process runtime: a container is a host process tree in a process group of its own.
 *
 * Every container runs under a small `sh` supervisor that leads the group: it starts the
 * command, relays its exit status, survives the SIGTERM the agent sends to the whole group (so
 * the program alone decides how to stop), and kills the group when the agent dies. The agent's
 * death is noticed through `prctl(PR_SET_PDEATHSIG)` (set by util-linux `setpriv --pdeathsig`),
 * which the kernel delivers even when the agent is killed with SIGKILL; without `setpriv` a
 * background loop polls the agent's pid once a second. Hence: no container outlives the agent.
 *
 * stdout and stderr are written to the container's log (logfile.ts) in the CRI log format the
 * kubelet reads (`<RFC3339Nano> <stream> <P|F> <text>`): one `F` record per line, `P` for a line
 * cut at 16 KiB. When the log falls behind, the pipes are paused (the program then blocks on its
 * own writes); when it fails, its lines are dropped and the program runs on.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { ContainerLog } from "../logfile.ts";

export interface ContainerExit {
  exitCode: number;
  signal?: string;
}

export interface ContainerHandle {
  /** `loopkube://<id>` */
  containerID: string;
  pid: number | undefined;
  /** Resolves once the process group leader has exited. */
  exited: Promise<ContainerExit>;
  /** Sends a signal to the container's whole process group. */
  kill(signal: NodeJS.Signals): void;
  /** The container's stdin, when its spec asks for one (`stdin: true`), for `kubectl attach -i`. */
  stdin?: Writable;
  /** The prefix that runs a command inside the container, when its runtime has one (oci). */
  enter?: (tty: boolean) => string[];
}

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Where stdout and stderr go; closed when the program has exited. */
  log: ContainerLog;
  /** A prefix (e.g. an `unshare …` sandbox) run before the supervisor. */
  wrap?: string[];
  /** Keep a pipe to the program's stdin open (the container's `stdin: true`); else /dev/null. */
  stdin?: boolean;
  /** The program runs on a terminal (`script`): output is logged as it comes, line or not. */
  tty?: boolean;
}

/** Thrown when the program cannot be started (kube's `StartError`, exit code 128). */
export class StartError extends Error {
  override name = "StartError";
}

// $1…: the program. The supervisor's own traps are reset in the program by exec. fd 3: a
// background job of a non-interactive shell gets /dev/null as stdin before its own redirections
// apply, so the supervisor's stdin is kept on fd 3 and handed to the program from there.
// The supervisor traps TERM and HUP (to outlive them and report the program's exit) only once
// the program is started: a SIGTERM to the group before that (a pod deleted as it starts) ends
// the supervisor and no program runs. Trapped earlier, that signal was lost and the program ran
// on until the grace period's SIGKILL.
const SUPERVISOR = [
  "trap 'kill -KILL 0' USR1",
  'if [ -n "$LOOPKUBE_AGENT_PID" ]; then',
  ' (while kill -0 "$LOOPKUBE_AGENT_PID" 2>/dev/null; do sleep 1; done; kill -KILL 0) &',
  "fi",
  "exec 3<&0",
  '"$@" <&3 3<&- &',
  "exec 3<&-",
  "c=$!",
  "trap ':' TERM HUP",
  "while :; do",
  ' wait "$c"; s=$?',
  ' kill -0 "$c" 2>/dev/null || exit "$s"',
  "done",
].join("\n");

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath === undefined) setprivPath = which("setpriv", process.env.PATH ?? "") ?? null;
  return setprivPath;
}

export function which(cmd: string, path: string): string | undefined {
  const ok = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) return ok(cmd) ? cmd : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir && ok(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** Quotes argv for `sh -c` (what `script -c` runs). */
export function shellJoin(argv: string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(" ");
}

let scriptFound: boolean | undefined;
/** Whether a container runs on a terminal: its spec asks for a tty and stdin, and `script` is here. */
export function withTty(spec: { tty?: boolean; stdin?: boolean }): boolean {
  if (spec.tty !== true || spec.stdin !== true) return false;
  scriptFound ??= which("script", process.env.PATH ?? "") !== undefined;
  return scriptFound;
}

export function startProcess(spec: ProcessSpec): ContainerHandle {
  const [cmd, ...args] = spec.argv;
  if (!cmd) throw new StartError("the container has no command");
  // In a sandbox the program may live in a volume: the sandbox's shell finds it (or exits 127).
  const resolved = spec.wrap ? cmd : which(cmd, spec.env.PATH ?? process.env.PATH ?? "");
  if (!resolved) {
    throw new StartError(
      cmd.includes("/")
        ? `exec: "${cmd}": stat ${cmd}: no such file or directory`
        : `exec: "${cmd}": executable file not found in $PATH`,
    );
  }
  if (!spec.wrap && (!isAbsolute(spec.cwd) || !existsSync(spec.cwd))) {
    throw new StartError(`chdir ${spec.cwd}: no such file or directory`);
  }
  const log = spec.log;
  const setpriv = findSetpriv();
  const env = { ...spec.env };
  if (!setpriv) env.LOOPKUBE_AGENT_PID = String(process.pid);
  const supervisor = ["sh", "-c", SUPERVISOR, "sh", resolved, ...args];
  const full = [
    ...(spec.wrap ?? []),
    ...(setpriv ? [setpriv, "--pdeathsig", "USR1", "--"] : []),
    ...supervisor,
  ];
  const child: ChildProcess = spawn(full[0] as string, full.slice(1), {
    // A sandbox changes directory itself, inside its own root.
    cwd: spec.wrap ? "/" : spec.cwd,
    env,
    detached: true,
    stdio: [spec.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  // A write after the program exited is not an error of the agent's.
  child.stdin?.on("error", () => {});
  const pending: Promise<void>[] = [];
  if (child.stdout) pending.push(pipeCri(child.stdout, "stdout", log, spec.tty === true));
  if (child.stderr) pending.push(pipeCri(child.stderr, "stderr", log));
  const exited = new Promise<ContainerExit>((resolve) => {
    let spawnError: Error | undefined;
    child.once("error", (e) => {
      spawnError = e;
    });
    child.once("close", (code, signal) => {
      void Promise.all(pending).then(async () => {
        await log.close();
        if (spawnError && code === null && signal === null) resolve({ exitCode: 128 });
        else if (signal) resolve({ exitCode: 128 + signalNumber(signal), signal });
        else resolve({ exitCode: code ?? 0 });
      });
    });
  });
  const pid = child.pid;
  return {
    containerID: `loopkube://${randomBytes(32).toString("hex")}`,
    pid,
    exited,
    ...(child.stdin ? { stdin: child.stdin } : {}),
    kill(signal) {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const signalNumber = (s: string) => SIGNALS[s] ?? 9;

const MAX_LINE = 16 * 1024;

/**
 * Copies a container's output stream into its CRI log, a record per line. `tty`: the stream is a
 * terminal's, where a prompt or an echoed key ends no line; what a chunk leaves after its last
 * newline is written at once as a partial (`P`) record, so `attach` shows it while the program
 * waits for input (readers join partial records, as kube's do).
 */
export function pipeCri(
  stream: Readable,
  name: "stdout" | "stderr",
  log: ContainerLog,
  tty = false,
): Promise<void> {
  let rest = "";
  let paused = false;
  const emit = (text: string, tag: "P" | "F") => {
    const fits = log.append(
      `${new Date().toISOString().replace("Z", "000000Z")} ${name} ${tag} ${text}\n`,
    );
    if (fits || paused) return;
    paused = true;
    stream.pause();
    void log.drained().then(() => {
      paused = false;
      stream.resume();
    });
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    rest += chunk;
    let start = 0;
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n", start)) {
      emit(rest.slice(start, nl), "F");
      start = nl + 1;
    }
    rest = rest.slice(start);
    while (rest.length > MAX_LINE) {
      emit(rest.slice(0, MAX_LINE), "P");
      rest = rest.slice(MAX_LINE);
    }
    if (tty && rest) {
      emit(rest, "P");
      rest = "";
    }
  });
  // A read error of the pipe ends this stream's output; the container is not the agent's to lose.
  stream.on("error", () => {});
  return new Promise((resolve) => {
    stream.once("close", () => {
      if (rest) emit(rest, "F");
      resolve();
    });
  });
}

export const newContainerID = () => `loopkube://${randomBytes(32).toString("hex")}`;
