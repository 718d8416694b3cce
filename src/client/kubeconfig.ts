/**
 * Reads a kubeconfig (the file kubectl reads) into an `HttpClientConfig`: the named context, or
 * `current-context`; its cluster's `server`, CA (`certificate-authority-data` base64 or
 * `certificate-authority` file) and `insecure-skip-tls-verify`; its user's client certificate
 * and key (`*-data` or file), `token` or `tokenFile`. Relative file paths are relative to
 * `baseDir` (the kubeconfig's folder), as kubectl resolves them.
 *
 * Exec plugins and auth providers are refused with an error rather than silently ignored.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import type { HttpClientConfig } from "./http.ts";

export interface KubeconfigOptions {
  /** Folder that relative file paths in the kubeconfig are relative to; default the cwd. */
  baseDir?: string;
  /** Reads a referenced file as text; default `fs.readFileSync`. */
  readFile?: (path: string) => string;
}

type Named<T> = { name?: string } & Record<string, T | undefined>;

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

export function loadKubeconfig(
  text: string,
  context?: string,
  options: KubeconfigOptions = {},
): HttpClientConfig {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const resolvePath = (p: string) =>
    isAbsolute(p) || !options.baseDir ? p : join(options.baseDir, p);
  const doc = (parse(text) ?? {}) as Record<string, unknown>;

  const contextName = context ?? (doc["current-context"] as string | undefined);
  if (!contextName) throw new KubeconfigError("current-context is not set");
  const ctx = pick(doc, "contexts", "context", contextName);
  if (!ctx) throw new KubeconfigError(`context "${contextName}" does not exist`);
  const clusterName = str(ctx.cluster);
  const userName = str(ctx.user);
  const cluster = clusterName ? pick(doc, "clusters", "cluster", clusterName) : undefined;
  if (!cluster) throw new KubeconfigError(`cluster "${clusterName ?? ""}" does not exist`);
  const user = userName ? pick(doc, "users", "user", userName) : {};
  if (!user) throw new KubeconfigError(`user "${userName}" does not exist`);

  const server = str(cluster.server);
  if (!server) throw new KubeconfigError(`cluster "${clusterName}" has no server`);
  const config: HttpClientConfig = { server };

  const material = (dataKey: string, fileKey: string, from: Record<string, unknown>) => {
    const data = str(from[dataKey]);
    if (data) return Buffer.from(data, "base64").toString("utf8");
    const file = str(from[fileKey]);
    return file ? readFile(resolvePath(file)) : undefined;
  };
  const ca = material("certificate-authority-data", "certificate-authority", cluster);
  if (ca) config.caCert = ca;
  if (cluster["insecure-skip-tls-verify"] === true) config.insecureSkipTlsVerify = true;

  if (user.exec || user["auth-provider"]) {
    throw new KubeconfigError(
      `user "${userName}" uses an exec plugin or auth provider, which this client does not support`,
    );
  }
  const cert = material("client-certificate-data", "client-certificate", user);
  if (cert) config.clientCert = cert;
  const key = material("client-key-data", "client-key", user);
  if (key) config.clientKey = key;
  const token =
    str(user.token) ??
    (str(user.tokenFile) ? readFile(resolvePath(str(user.tokenFile)!)).trim() : undefined);
  if (token) config.token = token;
  return config;
}

/** Reads the kubeconfig file at `path`; its relative paths are resolved against its folder. */
export function loadKubeconfigFile(path: string, context?: string): HttpClientConfig {
  const text = readFileSync(path, "utf8");
  return loadKubeconfig(text, context, { baseDir: dirname(resolve(path)) });
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `doc[list]` is `[{ name, [field]: {...} }]`; returns the `field` object of entry `name`. */
function pick(
  doc: Record<string, unknown>,
  list: string,
  field: string,
  name: string,
): Record<string, unknown> | undefined {
  const entries = doc[list];
  if (!Array.isArray(entries)) return undefined;
  const entry = (entries as Named<unknown>[]).find((e) => e?.name === name);
  if (!entry) return undefined;
  const value = entry[field];
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}
