/**
 * The load generator's pieces: one HTTPS request over a keep-alive agent authenticated with the
 * admin client certificate, a closed-loop runner (N workers, each sends its next request when the
 * previous one answered, as a controller or kubectl does), and latency percentiles.
 *
 * Invariants: every request's status is checked against the expected one and a wrong status
 * aborts the run (a benchmark of errors is no benchmark); latencies are wall-clock milliseconds
 * from `request()` to the last byte of the response, measured in this process.
 *
 * @module
 */
import { Agent, request } from "node:https";

export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

export interface Reply {
  status: number;
  body: string;
}

export interface Client {
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Ends the agent's idle sockets. */
  close(): void;
}

export interface CallOptions {
  body?: string;
  contentType?: string;
  /** The status the call must answer; anything else throws. Default 200 (201 for POST). */
  expect?: number;
}

/** A client whose agent keeps at most `sockets` connections alive to `url`. */
export function createClient(
  url: string,
  creds: Credentials,
  options: { sockets: number },
): Client {
  const base = new URL(url);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.sockets,
    ca: creds.ca,
    cert: creds.cert,
    key: creds.key,
  });
  return {
    call: (method, path, o = {}) =>
      new Promise<Reply>((resolve, reject) => {
        const headers: Record<string, string> = { accept: "application/json" };
        if (o.body !== undefined) {
          headers["content-type"] = o.contentType ?? "application/json";
          headers["content-length"] = String(Buffer.byteLength(o.body));
        }
        const req = request(
          { host: base.hostname, port: base.port, path, method, agent, headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const status = res.statusCode ?? 0;
              const body = Buffer.concat(chunks).toString("utf8");
              const expect = o.expect ?? (method === "POST" ? 201 : 200);
              if (status !== expect) {
                reject(
                  new Error(`${method} ${path}: ${status} (want ${expect}): ${body.slice(0, 300)}`),
                );
              } else resolve({ status, body });
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(o.body);
      }),
    close: () => agent.destroy(),
  };
}

export interface LoadResult {
  ops: number;
  seconds: number;
  perSecond: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  max: number;
  /** CPU this (loader) process used during the run, as a fraction of one core. */
  loaderCpu: number;
}

/**
 * Runs `op(i, worker)` for i = 0.. with `concurrency` workers until `count` ops ran or `seconds` passed
 * (whichever is given; both stop at the first). Returns throughput and latency percentiles.
 */
export async function runLoad(
  op: (i: number, worker: number) => Promise<unknown>,
  options: { concurrency: number; count?: number; seconds?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const count = options.count ?? Number.POSITIVE_INFINITY;
  const deadline =
    options.seconds !== undefined
      ? performance.now() + options.seconds * 1000
      : Number.POSITIVE_INFINITY;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const worker = async (_: unknown, w: number) => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await op(i, w);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    ops: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    ...percentiles(latencies),
    loaderCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

/** p50, p99 and max of samples in ms (nearest-rank). */
export function percentiles(samples: number[]): { p50: number; p99: number; max: number } {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0 };
}
