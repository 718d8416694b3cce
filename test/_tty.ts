/**
 * A terminal for a client under test, as a user's: util-linux `script` runs the command on a
 * pseudo-terminal of the given size, what the test sends is typed into it, and `expect` waits for
 * the screen's text to match (an expect-style driver; node-pty is not needed). The output keeps
 * the terminal's `\r\n`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { which } from "../src/kubelet/runtimes/index.ts";

export const NO_SCRIPT = which("script", process.env.PATH ?? "")
  ? false
  : "util-linux script (a terminal for kubectl) is not installed";

export interface TtySession {
  /** Everything the terminal showed so far. */
  readonly output: string;
  /** The pid of `script` (the command runs on the terminal under it). */
  readonly pid: number;
  /** Types `text` (a `\n` is the Enter key). */
  send(text: string): void;
  /** Waits until the output after the last match matches `re`; returns that match. */
  expect(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The command's exit code once it ends (kills it after `timeoutMs`). */
  done(timeoutMs?: number): Promise<number | null>;
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs `argv` on a new `cols`×`rows` terminal. */
export function ttySession(argv: string[], size = { cols: 91, rows: 33 }): TtySession {
  const inner = `stty cols ${size.cols} rows ${size.rows}; exec ${argv.map(q).join(" ")}`;
  const child = spawn("script", ["-qfec", inner, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: process.env,
  });
  let output = "";
  let from = 0;
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    output += d.toString("utf8");
    for (const w of waiters) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.stdin.on("error", () => {});
  const exit = new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  void exit.then(() => {
    for (const w of waiters) w();
  });
  let ended = false;
  void exit.then(() => {
    ended = true;
  });
  return {
    get output() {
      return output;
    },
    pid: child.pid ?? 0,
    send(text) {
      child.stdin.write(text);
    },
    expect(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(output.slice(from));
          if (m) {
            from += m.index + m[0].length;
            done();
            resolve(m);
          } else if (ended) {
            done();
            reject(new Error(`the terminal ended before ${re}:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${re}; the terminal showed:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async done(timeoutMs = 60_000) {
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}
