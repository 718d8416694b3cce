/**
 * `wrk` as the HTTP load generator of the proxy benchmarks: the closest thing to the load
 * generators kube-proxy's own comparisons used, and fast enough that the proxy or the server,
 * not the client, sets the figure (a Node client tops out near 6k requests/s here).
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";

/** Keep-alive HTTP figures of one run. */
export interface HttpFigures {
  rps: number;
  p50ms: number;
  p99ms: number;
}

/** Whether `wrk` is installed. */
export function hasWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version; ENOENT means absent.
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/**
 * One `wrk -t1` run against `url`; `prefix` runs it through another command first (e.g.
 * `ip netns exec <ns>` to load from inside a pod's network namespace).
 */
export function wrk(
  url: string,
  secs: number,
  conns: number,
  prefix: string[] = [],
): Promise<HttpFigures> {
  // wrk takes whole seconds only.
  const duration = `${Math.max(1, Math.ceil(secs))}s`;
  const argv = [...prefix, "wrk", "-t1", `-c${conns}`, `-d${duration}`, "--latency", url];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? "wrk", argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
      const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
      const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
      const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
      if (code !== 0 || !rps || !p50 || !p99) reject(new Error(`wrk failed:\n${out}`));
      else if (errors) reject(new Error(`wrk saw ${errors} error responses from ${url}`));
      else resolve({ rps: Number(rps), p50ms: toMs(p50), p99ms: toMs(p99) });
    });
  });
}
