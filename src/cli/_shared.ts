/**
 * What the commands share: the options that name a cluster (`--name`, `--data-dir`), parsing
 * of numeric options into one-sentence errors, and the HTTPS probe of `/readyz` with the
 * cluster's own CA.
 *
 * @module
 */
import { request } from "node:https";
import { InvalidArgumentError } from "commander";
import { parseKubeconfig } from "../apiserver/kubeconfig.ts";
import { CLUSTER_DEFAULTS, defaultDataDir } from "../cluster/index.ts";

export interface TargetOptions {
  name: string;
  dataDir?: string;
}

export function dataDirOf(o: TargetOptions): string {
  return o.dataDir ?? defaultDataDir(o.name);
}

export const DEFAULT_NAME = CLUSTER_DEFAULTS.name;

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError("not a port number (0-65535; 0 picks a free one).");
  }
  return n;
}

/** GET /readyz with the kubeconfig's CA and client certificate: `[status, body]`. */
export function probeReadyz(
  kubeconfig: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  const conn = parseKubeconfig(kubeconfig);
  return new Promise((resolve, reject) => {
    const req = request(
      `${conn.server}/readyz?verbose`,
      {
        ...(conn.caCert ? { ca: conn.caCert } : {}),
        ...(conn.clientCert ? { cert: conn.clientCert } : {}),
        ...(conn.clientKey ? { key: conn.clientKey } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += String(d);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Where a command writes: lines to stdout, raw text to stdout, lines to stderr. */
export interface Io {
  out(line: string): void;
  raw(text: string): void;
  err(line: string): void;
  /** The command's exit status (the process's, for the real command line). */
  setExitCode(code: number): void;
}

export const PROCESS_IO: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  raw: (text) => process.stdout.write(text),
  err: (line) => process.stderr.write(`${line}\n`),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};
