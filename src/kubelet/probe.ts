/**
 * Container probes as the kubelet runs them (pkg/kubelet/prober): one worker per probe, first run
 * `initialDelaySeconds` after the container started, then every `periodSeconds`; a result flips
 * after `failureThreshold` consecutive failures or `successThreshold` consecutive successes.
 * The first liveness/startup check without initialDelaySeconds comes one period after the start;
 * readiness checks at once and, until it first succeeds, again after 50 ms, doubling up to the
 * period (so a pod is Ready as soon as it answers; kube would only ever be later).
 * Defaults: period 10 s, timeout 1 s, success 1, failure 3. Readiness starts as failure,
 * liveness as success; liveness and readiness wait until the startup probe has succeeded, and
 * the startup probe stops once it has.
 *
 * Checks: exec (exit 0), httpGet (status 200–399; host defaults to the pod IP), tcpSocket
 * (connects), grpc (the standard health service answers SERVING; grpcprobe.ts).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { Container, Probe } from "kubernetes-types/core/v1.js";
import { grpcCheck } from "./grpcprobe.ts";

export type ProbeKind = "startup" | "liveness" | "readiness";
export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  env: Record<string, string>;
  cwd: string;
  /** A prefix that runs exec checks inside the container's sandbox (nsenter). */
  wrap?: () => string[] | undefined;
  /** How http, tcp and gRPC checks connect where a plain connect cannot (rootless). */
  dial?: (host: string, port: number) => Promise<Socket>;
}

const portOf = (c: Container, port: number | string): number => {
  if (typeof port === "number") return port;
  const named = c.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
};

/** Runs one check once. Never throws. */
export async function runCheck(
  probe: Probe,
  container: Container,
  target: ProbeTarget,
): Promise<ProbeOutcome> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.exec) return await execCheck(probe.exec.command ?? [], target, timeoutMs);
    if (probe.httpGet) {
      const g = probe.httpGet;
      return await httpCheck(
        {
          scheme: (g.scheme ?? "HTTP").toLowerCase(),
          host: g.host || target.podIP,
          port: portOf(container, g.port),
          path: g.path || "/",
          headers: g.httpHeaders ?? [],
        },
        timeoutMs,
        target.dial,
      );
    }
    if (probe.tcpSocket) {
      return await tcpCheck(
        probe.tcpSocket.host || target.podIP,
        portOf(container, probe.tcpSocket.port),
        timeoutMs,
        target.dial,
      );
    }
    if (probe.grpc) {
      return await grpcCheck(
        target.podIP,
        probe.grpc.port,
        probe.grpc.service ?? "",
        timeoutMs,
        target.dial,
      );
    }
    return { ok: false, message: "probe has no handler" };
  } catch (e) {
    return { ok: false, message: String((e as Error).message ?? e) };
  }
}

function execCheck(cmd: string[], t: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (!cmd.length) return resolve({ ok: false, message: "exec probe has no command" });
    const wrap = t.wrap?.();
    const [bin = "", ...args] = [...(wrap ?? []), ...cmd];
    const child = spawn(bin, args, {
      env: t.env,
      cwd: wrap ? "/" : t.cwd,
      detached: true,
      stdio: "pipe",
    });
    let out = "";
    const take = (b: Buffer) => {
      if (out.length < 10240) out += b.toString("utf8");
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
      resolve({ ok: false, message: `command timed out after ${timeoutMs / 1000}s` });
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: e.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, message: code === 0 ? "" : out.trimEnd() || `exit code ${code}` });
    });
  });
}

function httpCheck(
  g: {
    scheme: string;
    host: string;
    port: number;
    path: string;
    headers: { name: string; value: string }[];
  },
  timeoutMs: number,
  dial?: ProbeTarget["dial"],
): Promise<ProbeOutcome> {
  const url = `${g.scheme}://${g.host}:${g.port}${g.path.startsWith("/") ? "" : "/"}${g.path}`;
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      "User-Agent": "kube-probe/1.32",
      Accept: "*/*",
      Connection: "close",
    };
    for (const h of g.headers) headers[h.name] = h.value;
    const tls = g.scheme === "https";
    // Through `dial`: no agent, the socket made by `createConnection` (TLS over it for https).
    const connection = dial && {
      createConnection: (_: unknown, done: (e: Error | null, s: Duplex) => void) => {
        dial(g.host, g.port).then(
          (s) => done(null, tls ? tlsConnect({ socket: s, rejectUnauthorized: false }) : s),
          (e: Error) => done(e, undefined as unknown as Duplex),
        );
        return undefined;
      },
    };
    const req = (tls ? httpsRequest : httpRequest)(url, {
      headers,
      timeout: timeoutMs,
      rejectUnauthorized: false,
      ...(connection ?? { agent: false }),
    });
    req.once("timeout", () => {
      req.destroy();
      resolve({
        ok: false,
        message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    });
    req.once("error", (e: NodeJS.ErrnoException) => {
      const reason = e.code === "ECONNREFUSED" ? "connect: connection refused" : e.message;
      resolve({ ok: false, message: `Get "${url}": dial tcp ${g.host}:${g.port}: ${reason}` });
    });
    req.once("response", (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      if (code >= 200 && code < 400) resolve({ ok: true, message: "" });
      else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.end();
  });
}

function tcpCheck(
  host: string,
  port: number,
  timeoutMs: number,
  dial?: ProbeTarget["dial"],
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (dial) {
      const timer = setTimeout(
        () => resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }),
        timeoutMs,
      );
      dial(host, port).then(
        (s) => {
          clearTimeout(timer);
          s.destroy();
          resolve({ ok: true, message: "" });
        },
        (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          const reason = e.code === "ECONNREFUSED" ? "connect: connection refused" : e.message;
          resolve({ ok: false, message: `dial tcp ${host}:${port}: ${reason}` });
        },
      );
      return;
    }
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, message: "" });
    });
    sock.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reason = e.code === "ECONNREFUSED" ? "connect: connection refused" : e.message;
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${reason}` });
    });
  });
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Probe;
  container: Container;
  target: ProbeTarget;
  /** Called with each raw check result (for Unhealthy events). */
  onCheck(outcome: ProbeOutcome): void;
  /** Called when the thresholded result changes. */
  onResult(ok: boolean): void;
}

/** A periodic probe; `stop()` ends it. The first check runs after initialDelaySeconds. */
export function startProbeWorker(o: ProbeWorkerOptions): { stop(): void } {
  const period = Math.max(1, o.probe.periodSeconds ?? 10) * 1000;
  const successT = Math.max(1, o.probe.successThreshold ?? 1);
  const failureT = Math.max(1, o.probe.failureThreshold ?? 3);
  let result: boolean | undefined = o.kind === "readiness" ? false : o.kind === "liveness";
  let streak = 0;
  let lastOk: boolean | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const tick = async () => {
    if (stopped) return;
    // A check that throws (a spawn refused for EMFILE) is a failed check, never an unhandled error.
    const outcome = await runCheck(o.probe, o.container, o.target).catch(
      (e: unknown): ProbeOutcome => ({
        ok: false,
        message: e instanceof Error ? e.message : String(e),
      }),
    );
    if (stopped) return;
    streak = lastOk === outcome.ok ? streak + 1 : 1;
    lastOk = outcome.ok;
    if (!outcome.ok) report(outcome);
    const flip = outcome.ok ? streak >= successT : streak >= failureT;
    if (flip && result !== outcome.ok) {
      result = outcome.ok;
      o.onResult(outcome.ok);
    } else if (flip && !outcome.ok && o.kind !== "readiness") {
      o.onResult(false);
    }
    if (!stopped) timer = setTimeout(() => void tick(), next(outcome.ok));
  };
  // Until a readiness probe has first succeeded, it checks again sooner (50 ms, doubling up to
  // the period): a pod turns Ready as soon as its server answers instead of up to a whole period
  // later. kube ticks once a period from a jittered start, so this only makes readiness come
  // earlier, never later; failures in that phase are reported at most once a period.
  let fastMs = o.kind === "readiness" ? 50 : period;
  let lastReported = 0;
  const next = (ok: boolean): number => {
    if (ok || fastMs >= period) {
      fastMs = period;
      return period;
    }
    const wait = fastMs;
    fastMs = Math.min(period, fastMs * 2);
    return wait;
  };
  const report = (outcome: ProbeOutcome): void => {
    const now = Date.now();
    if (fastMs < period && now - lastReported < period) return;
    lastReported = now;
    o.onCheck(outcome);
  };
  // The kubelet's probe worker ticks from when the pod was added and skips ticks before the
  // container runs, so a liveness or startup probe first checks up to a period after the start;
  // we take the whole period, never earlier than kube. Readiness checks at once (only delays
  // readiness when it fails).
  const initial = Math.max(0, o.probe.initialDelaySeconds ?? 0) * 1000;
  const first = o.kind === "readiness" || initial > 0 ? initial : period;
  timer = setTimeout(() => void tick(), first);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
