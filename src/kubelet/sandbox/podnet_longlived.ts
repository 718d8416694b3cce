/**
 * A long-lived helper process that serves requests written to its stdin one after another and
 * answers them by lines on one of its output streams (podnet_fast.ts runs two: `ip -force -batch
 * -` and the namespace configurer). It saves a process start per request.
 *
 * Contract:
 * - Requests are answered in the order written; the protocol (`LineProtocol`) turns a request
 *   into text and reads the lines that settle it.
 * - The process is started at the first request and again after it died: when it exits, every
 *   request written to it and not yet answered fails with a `HelperDied` (the caller knows
 *   whether redoing it is safe).
 * - It is `broken` (every request fails with a `HelperUnavailable`, carrying why) when it cannot
 *   be started or died `MAX_DEATHS` times within `DEATH_WINDOW_MS`: the caller then falls back.
 * - It exits when its stdin closes (`close()`, or this process dying in any way).
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

/** The helper exited while the request was in flight (it may have been done in part). */
export class HelperDied extends Error {}
/** The helper cannot be used here (not installed, or dies again and again). */
export class HelperUnavailable extends Error {}

const MAX_DEATHS = 3;
const DEATH_WINDOW_MS = 30_000;
const CLOSE_GRACE_MS = 2000;

/** How requests are written and answered. `S` is per-process state, fresh after a restart. */
export interface LineProtocol<Req, S> {
  fresh(): S;
  /** The text for `req`, and what `read` needs to know to settle it. */
  write(req: Req, state: S): { text: string; tag: unknown };
  /**
   * Reads one output line. `head` is the oldest unanswered request's tag; returns whether the
   * line settles it (and with which error), or undefined when it does not settle it yet.
   */
  read(line: string, head: unknown, state: S): { error?: string } | undefined;
}

interface Pending {
  tag: unknown;
  resolve(): void;
  reject(e: Error): void;
}

export interface LongLivedHelper<Req> {
  run(req: Req): Promise<void>;
  /** The running process's id, if any (for tests and logs). */
  pid(): number | undefined;
  /** Why it cannot be used, once it cannot. */
  broken(): string | undefined;
  /** Closes its stdin and waits for it to exit (killing it after a grace period). */
  close(): Promise<void>;
}

export function longLivedHelper<Req, S>(
  argv: { command: string; args: string[]; answers: "stdout" | "stderr" },
  protocol: LineProtocol<Req, S>,
): LongLivedHelper<Req> {
  let child: ChildProcessWithoutNullStreams | undefined;
  let state = protocol.fresh();
  let pending: Pending[] = [];
  let brokenWhy: string | undefined;
  let closed = false;
  const deaths: number[] = [];
  /** The stream that is not the answers': kept for the reason of a death. */
  let lastWords = "";

  const start = (): ChildProcessWithoutNullStreams => {
    const c = spawn(argv.command, argv.args, { stdio: ["pipe", "pipe", "pipe"] });
    state = protocol.fresh();
    lastWords = "";
    let partial = "";
    const answers = argv.answers === "stdout" ? c.stdout : c.stderr;
    const other = argv.answers === "stdout" ? c.stderr : c.stdout;
    other.setEncoding("utf8").on("data", (d: string) => {
      lastWords = (lastWords + d).slice(-2000);
    });
    answers.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const head = pending[0];
        if (!head || child !== c) continue;
        const r = protocol.read(line, head.tag, state);
        if (!r) continue;
        pending.shift();
        if (r.error === undefined) head.resolve();
        else head.reject(new Error(r.error));
      }
    });
    c.stdin.on("error", () => {}); // EPIPE after a death: reported by "close" below.
    c.once("error", (e) => died(c, e.message));
    // "close", not "exit": answers written just before a death are still read.
    c.once("close", (code, signal) =>
      died(
        c,
        `${argv.command} exited (${signal ?? `code ${code}`})${lastWords.trim() ? `: ${lastWords.trim()}` : ""}`,
      ),
    );
    return c;
  };

  const died = (c: ChildProcessWithoutNullStreams, why: string) => {
    if (child !== c) return;
    child = undefined;
    const lost = pending;
    pending = [];
    if (!closed) {
      const now = Date.now();
      deaths.push(now);
      while ((deaths[0] ?? now) < now - DEATH_WINDOW_MS) deaths.shift();
      if (deaths.length >= MAX_DEATHS) {
        brokenWhy = `${argv.command} helper died ${deaths.length} times within ${DEATH_WINDOW_MS / 1000} s (last: ${why})`;
      }
      if (c.pid === undefined) brokenWhy = `${argv.command} helper cannot start: ${why}`;
    }
    for (const p of lost) p.reject(new HelperDied(why));
  };

  return {
    run(req) {
      if (brokenWhy) return Promise.reject(new HelperUnavailable(brokenWhy));
      if (closed) return Promise.reject(new HelperUnavailable(`${argv.command} helper closed`));
      child ??= start();
      const c = child;
      const { text, tag } = protocol.write(req, state);
      return new Promise<void>((resolve, reject) => {
        pending.push({ tag, resolve, reject });
        c.stdin.write(text);
      });
    },
    pid: () => child?.pid,
    broken: () => brokenWhy,
    async close() {
      closed = true;
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once("close", () => r()));
      c.stdin.end();
      const timer = setTimeout(() => c.kill("SIGKILL"), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
