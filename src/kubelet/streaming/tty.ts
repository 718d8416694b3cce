/**
 * A container's terminal, found from the host: the pseudo-terminal a `tty: true` container's
 * program reads (util-linux `script` gave it one in the process runtime; the OCI runtime made one
 * inside the container's own devpts for `process.terminal`). Whatever the runtime, the program's
 * fd 0 is the terminal's slave side, and `/proc/<pid>/fd/0` opens that very terminal from the
 * host, across mount namespaces; so a resize (the TTY resize channel of attach) is `stty -F` on
 * it, which also sends SIGWINCH to the terminal's foreground process group, as a real resize does.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(/\s+/)) {
        if (c) out.push(Number(c));
      }
    } catch {
      // The task ended.
    }
  }
  return out;
}

const onPts = (pid: number) => {
  try {
    return /^\/dev\/pts\/\d+$/.test(readlinkSync(`/proc/${pid}/fd/0`));
  } catch {
    return false;
  }
};

/**
 * The terminal of the process tree under `pid`: `/proc/<pid>/fd/0` of the deepest process (a few
 * levels down) whose stdin is a pts, or undefined. The deepest, because a runtime may hold a
 * terminal of its own above the container's (crun under `script` in the oci runtime).
 */
export function terminalOf(pid: number, depth = 8): string | undefined {
  let level = [pid];
  const onTerminal: number[] = [];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const found = level.find(onPts);
    if (found !== undefined) onTerminal.push(found);
    level = level.flatMap(childrenOf);
  }
  // The deepest terminal, through the shallowest process on it: a short-lived command the shell
  // runs (an `stty size`) would take its path with it before the size is set.
  const deepest = onTerminal.at(-1);
  if (deepest === undefined) return undefined;
  const id = terminalIdentity(`/proc/${deepest}/fd/0`);
  const holder = onTerminal.find((p) => terminalIdentity(`/proc/${p}/fd/0`) === id) ?? deepest;
  return `/proc/${holder}/fd/0`;
}

/**
 * Sets the size of the terminal under `pid`; the terminal may not be there yet (a container just
 * started), so it is looked for a few times before giving up quietly (kube ignores a resize it
 * cannot apply too).
 */
export function resizeTerminal(pid: number, width: number, height: number, tries = 20): void {
  const tty = terminalOf(pid);
  if (!tty) {
    if (tries > 0) setTimeout(() => resizeTerminal(pid, width, height, tries - 1), 50).unref();
    return;
  }
  setTerminalSize(tty, width, height);
}

/**
 * Which terminal a `/proc/<pid>/fd/0` path is (its devpts instance and inode: two instances both
 * have a pts/0), or undefined when it is gone.
 */
export function terminalIdentity(tty: string): string | undefined {
  try {
    const st = statSync(tty);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Sets the size of the terminal at `tty` (a `/proc/<pid>/fd/0` path). */
export function setTerminalSize(tty: string, width: number, height: number): void {
  const s = spawn("stty", ["-F", tty, "cols", String(width), "rows", String(height)], {
    stdio: "ignore",
  });
  s.on("error", () => {});
}
