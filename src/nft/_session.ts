/**
 * Running nft transactions without a process per change: one long-lived `nft -i` reads them on
 * its stdin, one line each.
 *
 * Why `nft -i`: no well-kept npm binding speaks nftables' netlink protocol (the `netlink`
 * package speaks rtnetlink only; nftables rules would be ours to encode), and nft itself reads
 * its interactive commands from a pipe as well as from a terminal. Measured on nftables 1.0.6
 * (Debian 12), and relied on here:
 *
 * - one line is one batch, committed atomically: a line whose second statement fails leaves the
 *   first undone, as `nft -f` does with a file. A script becomes one line with its statements
 *   joined by `;` ({@link oneLine}), which nft reads as it reads line breaks.
 * - nft prints nothing on success and `Error: …` with the offending line and a caret line on
 *   stderr on failure, then reads on. There is no per-line exit code, so each batch line is
 *   followed by a marker line, `lkdone-<n>`, that fails to parse: its error (also on stderr,
 *   so in order after the batch's) says the batch is done, and whatever stderr held before it
 *   is the batch's error.
 * - a failing parse does not touch the kernel, so the marker costs one parse.
 *
 * The process is started at the first run and after it died (a run in flight when it dies
 * fails with the exit and stderr so far; the caller's next run replaces its table whole); a
 * start that does not answer its first marker (nft built without its CLI, or missing) falls back
 * to one `nft -f -` per run, said once through `log`. Runs never overlap. While no run is in
 * flight the process holds no reference on the event loop. nft's line editor keeps every line
 * it read (its history: the process grew by about the size of each line), so the process is
 * replaced after it has read `recycleBytes`; its HOME names no directory, so that a build
 * with GNU readline writes no history file.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs nft scripts, one transaction each. */
export interface NftRunner {
  /**
   * Resolves once the script is committed; rejects with nft's message (nothing of the script
   * applied) or, when the process died during the run, with its exit (the kernel unknown).
   */
  run(script: string): Promise<void>;
  /** The long-lived process's id, undefined when none runs (or in the fork-per-run mode). */
  pid(): number | undefined;
  /** `session`: one long-lived `nft -i`; `fork`: one `nft -f -` per run. */
  mode(): "session" | "fork";
  /** Ends the process (after the runs queued so far). */
  close(): Promise<void>;
}

/** Runs an nft script in one transaction (`nft -f -`); rejects with nft's own message. */
export function runNft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(err.trim() || `nft exited with ${code}`)),
    );
    child.stdin.end(script);
  });
}

/** One `nft -f -` per run. */
export function forkRunner(): NftRunner {
  let queue = Promise.resolve();
  return {
    run(script) {
      const r = queue.then(() => runNft(script));
      queue = r.catch(() => {});
      return r;
    },
    pid: () => undefined,
    mode: () => "fork",
    close: () => queue,
  };
}

/**
 * An nft script as one `nft -i` line: `#` comments (outside quotes) dropped, lines joined with
 * `;` (with a space after a line ending in `{` or `,`, where a `;` could not stand).
 */
export function oneLine(script: string): string {
  const lines: string[] = [];
  for (const raw of script.split("\n")) {
    let quoted = false;
    let end = raw.length;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '"') quoted = !quoted;
      else if (raw[i] === "#" && !quoted) {
        end = i;
        break;
      }
    }
    const line = raw.slice(0, end).trim();
    if (line !== "") lines.push(line);
  }
  let out = "";
  for (const l of lines) {
    if (out !== "") out += /[{,]$/.test(out) ? " " : " ; ";
    out += l;
  }
  return out;
}

/**
 * nft's error text with each echoed input line cut to the statement the carets point at (a
 * script made one line would otherwise be echoed whole), as `nft -f` shows it.
 */
export function shortenError(text: string): string {
  const lines = text.split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i] ?? "";
    const carets = lines[i + 1] ?? "";
    const m = /^(\s*)(\^~*|\^+)/.exec(carets);
    if (!m || !line.includes(" ; ")) continue;
    const from = m[1]?.length ?? 0;
    const to = from + (m[2]?.length ?? 1);
    const start = line.lastIndexOf(" ; ", from);
    const stop = line.indexOf(" ; ", to);
    const s = start < 0 ? 0 : start + 3;
    const e = stop < 0 ? line.length : stop;
    lines[i] = line.slice(s, e);
    lines[i + 1] = `${" ".repeat(from - s)}${carets.slice(from)}`;
  }
  return lines.join("\n");
}

export interface SessionOptions {
  /** Told once when the session cannot work and runs fork `nft -f -` instead. */
  log(message: string): void;
  /** The command (default `nft -i`); tests give another. */
  command?: string[];
  /** A run not done within this is ended by killing the process (default 60 s). */
  timeoutMs?: number;
  /** The process is replaced after it has read this many bytes (default 32 MiB). */
  recycleBytes?: number;
}

const MARKER = "lkdone-";

interface Waiter {
  marker: string;
  done(error: string | undefined, died?: string): void;
}

/** One `nft -i` process and what it has said so far. */
interface Proc {
  child: ChildProcess;
  /** stderr not yet taken by a marker. */
  err: string;
  /** Bytes written to its stdin. */
  written: number;
  waiter?: Waiter | undefined;
}

/** One long-lived `nft -i` (see the module's notes). */
export function nftSession(o: SessionOptions): NftRunner {
  const command = o.command ?? ["nft", "-i"];
  const timeoutMs = o.timeoutMs ?? 60_000;
  const recycleBytes = o.recycleBytes ?? 32 * 1024 * 1024;
  let proc: Proc | undefined;
  let fork: NftRunner | undefined;
  let seq = 0;
  let queue = Promise.resolve();

  const hold = (p: Proc, on: boolean) => {
    const c = p.child;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as unknown as ({
      ref?(): void;
      unref?(): void;
    } | null)[]) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  };

  /** Writes one line and waits for its marker: the stderr before it, or why the process died. */
  const exchange = (p: Proc, line: string) =>
    new Promise<string>((resolve, reject) => {
      const marker = `${MARKER}${++seq}`;
      const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
      p.waiter = {
        marker,
        done(error, died) {
          clearTimeout(timer);
          p.waiter = undefined;
          if (died !== undefined) reject(new Error(died));
          else resolve(error ?? "");
        },
      };
      const text = line === "" ? `${marker}\n` : `${line}\n${marker}\n`;
      p.written += text.length;
      p.child.stdin?.write(text);
    });

  const onStderr = (p: Proc, d: string) => {
    p.err += d;
    const w = p.waiter;
    if (!w) return;
    // The marker's own error: `Error: syntax error, …\n<marker>\n<carets>\n`.
    const at = p.err.indexOf(`\n${w.marker}\n`);
    if (at < 0) return;
    const tail = p.err.indexOf("\n", at + w.marker.length + 2);
    if (tail < 0) return;
    const head = p.err.lastIndexOf("Error:", at);
    const before = p.err.slice(0, Math.max(head, 0));
    p.err = p.err.slice(tail + 1);
    w.done(before);
  };

  const start = async (): Promise<Proc | undefined> => {
    const [cmd = "nft", ...args] = command;
    // HOME where nothing is: a readline build keeps no history file of our lines.
    const home = join(tmpdir(), `loopkube-nft-${process.pid}-nohome`);
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HOME: home },
    });
    const p: Proc = { child, err: "", written: 0 };
    child.stdout?.resume();
    child.stderr?.setEncoding("utf8").on("data", (d: string) => onStderr(p, d));
    child.stdin?.on("error", () => {}); // a dead process: its exit is what is reported
    const died = (why: string) => {
      if (proc === p) proc = undefined;
      const said = p.err.trim();
      p.waiter?.done(undefined, `nft -i ${why}${said ? `: ${shortenError(said)}` : ""}`);
    };
    child.once("error", (e) => died(e.message));
    child.once("close", (code, signal) => died(`exited with ${signal ?? code}`));
    try {
      const first = await exchange(p, "");
      if (first.trim() !== "") throw new Error(first.trim());
      return p;
    } catch (e) {
      child.kill("SIGKILL");
      o.log(
        `nft -i did not answer (${e instanceof Error ? e.message : String(e)}): one nft process per change from now on`,
      );
      return undefined;
    }
  };

  const runOne = async (script: string) => {
    if (fork) return fork.run(script);
    if (!proc) {
      const p = await start();
      if (!p) {
        fork = forkRunner();
        return fork.run(script);
      }
      proc = p;
    }
    const p = proc;
    hold(p, true);
    try {
      const out = await exchange(p, oneLine(script));
      if (/^Error:/m.test(out)) throw new Error(shortenError(out.trim()));
    } finally {
      hold(p, false);
      if (p.written > recycleBytes && proc === p) {
        proc = undefined;
        p.child.stdin?.end();
      }
    }
  };

  return {
    run(script) {
      const r = queue.then(() => runOne(script));
      queue = r.catch(() => {});
      return r;
    },
    pid: () => proc?.child.pid,
    mode: () => (fork ? "fork" : "session"),
    async close() {
      await queue;
      const c = proc?.child;
      proc = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
        c.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        c.stdin?.end();
      });
    },
  };
}
