/**
 * kubeconfig files: build a self-contained one for the cluster, read the connection material of a
 * context out of any kubeconfig, and merge or remove a cluster's entry in the user's kubeconfig
 * (`~/.kube/config`) the way `kind create/delete cluster` does.
 *
 * Invariants: a built kubeconfig embeds everything (`*-data` fields, base64 PEM) so it works from
 * any directory; merging touches only the cluster, user and context named after the cluster plus
 * `current-context`, keeps every other entry, and creates the file (and its directory) with mode
 * 0600 when missing. Writes go through a temporary file and a rename.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse, stringify } from "yaml";

export interface BuildKubeconfigOptions {
  /** Name of the cluster, the user and the context alike. */
  name: string;
  server: string;
  caCert: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  namespace?: string;
}

/** Connection material of one context. PEM strings, not base64. */
export interface KubeconfigConnection {
  server: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  namespace?: string;
  /** `tls-server-name`, when the kubeconfig overrides the name checked against the certificate. */
  tlsServerName?: string;
}

export interface ParseKubeconfigOptions {
  /** Context to read; the file's `current-context` when absent. */
  context?: string;
  /** Directory relative file paths are resolved against (the kubeconfig's own directory). */
  baseDir?: string;
}

/** Thrown when a kubeconfig lacks what is asked of it; the message says what. */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

interface NamedEntry {
  name: string;
  [key: string]: unknown;
}

interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: NamedEntry[] | null;
  users?: NamedEntry[] | null;
  contexts?: NamedEntry[] | null;
  "current-context"?: string;
  preferences?: unknown;
  [key: string]: unknown;
}

const b64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");

/** A self-contained kubeconfig whose cluster, user and context are all called `name`. */
export function buildKubeconfig(options: BuildKubeconfigOptions): string {
  const user: Record<string, string> = {};
  if (options.clientCert !== undefined) user["client-certificate-data"] = b64(options.clientCert);
  if (options.clientKey !== undefined) user["client-key-data"] = b64(options.clientKey);
  if (options.token !== undefined) user["token"] = options.token;
  const context: Record<string, string> = { cluster: options.name, user: options.name };
  if (options.namespace !== undefined) context["namespace"] = options.namespace;
  const doc: KubeconfigDoc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: options.name,
        cluster: {
          server: options.server,
          "certificate-authority-data": b64(options.caCert),
        },
      },
    ],
    users: [{ name: options.name, user }],
    contexts: [{ name: options.name, context }],
    "current-context": options.name,
    preferences: {},
  };
  return stringify(doc);
}

/** Reads the connection material of the current (or the named) context. */
export function parseKubeconfig(
  text: string,
  options: ParseKubeconfigOptions = {},
): KubeconfigConnection {
  const doc = parseDoc(text);
  const contextName = options.context ?? doc["current-context"];
  if (contextName === undefined || contextName === "") {
    throw new KubeconfigError("kubeconfig has no current-context and no context was named");
  }
  const context = section(findEntry(doc.contexts, contextName, "context"), "context");
  const clusterName = stringField(context, "cluster");
  if (clusterName === undefined)
    throw new KubeconfigError(`context "${contextName}" names no cluster`);
  const cluster = section(findEntry(doc.clusters, clusterName, "cluster"), "cluster");
  const userName = stringField(context, "user");
  const user =
    userName === undefined ? {} : section(findEntry(doc.users, userName, "user"), "user");

  const server = stringField(cluster, "server");
  if (server === undefined) throw new KubeconfigError(`cluster "${clusterName}" has no server`);
  const baseDir = options.baseDir ?? process.cwd();
  const out: KubeconfigConnection = { server };
  const caCert = material(cluster, "certificate-authority", baseDir);
  if (caCert !== undefined) out.caCert = caCert;
  if (cluster["insecure-skip-tls-verify"] === true) out.insecureSkipTlsVerify = true;
  const tlsServerName = stringField(cluster, "tls-server-name");
  if (tlsServerName !== undefined) out.tlsServerName = tlsServerName;
  const clientCert = material(user, "client-certificate", baseDir);
  if (clientCert !== undefined) out.clientCert = clientCert;
  const clientKey = material(user, "client-key", baseDir);
  if (clientKey !== undefined) out.clientKey = clientKey;
  const token = stringField(user, "token") ?? readPath(stringField(user, "tokenFile"), baseDir);
  if (token !== undefined) out.token = token.trim();
  const namespace = stringField(context, "namespace");
  if (namespace !== undefined && namespace !== "") out.namespace = namespace;
  return out;
}

/** Reads a kubeconfig file; relative paths inside it resolve against the file's directory. */
export async function readKubeconfigFile(
  path: string,
  options: { context?: string } = {},
): Promise<KubeconfigConnection> {
  const text = await readFile(path, "utf8");
  return parseKubeconfig(text, { ...options, baseDir: dirname(resolve(path)) });
}

export interface MergeContextOptions {
  contextName: string;
  /** A kubeconfig (as built by {@link buildKubeconfig}) whose current context is merged in. */
  kubeconfigText: string;
}

/**
 * Adds or replaces the cluster, user and context called `contextName` in the kubeconfig at `path`
 * and makes it the current context; everything else in the file is kept.
 */
export async function mergeKubeconfigContext(
  path: string,
  options: MergeContextOptions,
): Promise<void> {
  const source = parseDoc(options.kubeconfigText);
  const sourceContextName = source["current-context"];
  if (sourceContextName === undefined) {
    throw new KubeconfigError("kubeconfig to merge has no current-context");
  }
  const context = section(findEntry(source.contexts, sourceContextName, "context"), "context");
  const cluster = findEntry(source.clusters, stringField(context, "cluster") ?? "", "cluster");
  const user = findEntry(source.users, stringField(context, "user") ?? "", "user");
  const name = options.contextName;

  const target = await readDocOrEmpty(path);
  target.clusters = upsert(target.clusters, { ...cluster, name });
  target.users = upsert(target.users, { ...user, name });
  target.contexts = upsert(target.contexts, {
    ...source.contexts?.find((c) => c.name === sourceContextName),
    name,
    context: { ...context, cluster: name, user: name },
  });
  target["current-context"] = name;
  await writeDoc(path, target);
}

/** Removes the cluster, user and context called `contextName`; unsets current-context if it was. */
export async function removeKubeconfigContext(path: string, contextName: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const doc = parseDoc(text);
  const without = (list: NamedEntry[] | null | undefined) =>
    (list ?? []).filter((e) => e.name !== contextName);
  doc.clusters = without(doc.clusters);
  doc.users = without(doc.users);
  doc.contexts = without(doc.contexts);
  if (doc["current-context"] === contextName) doc["current-context"] = "";
  await writeDoc(path, doc);
}

function parseDoc(text: string): KubeconfigDoc {
  const doc: unknown = parse(text);
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new KubeconfigError("kubeconfig is not a YAML mapping");
  }
  return doc as KubeconfigDoc;
}

async function readDocOrEmpty(path: string): Promise<KubeconfigDoc> {
  try {
    const doc = parseDoc(await readFile(path, "utf8"));
    return { apiVersion: "v1", kind: "Config", preferences: {}, ...doc };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    return { apiVersion: "v1", kind: "Config", preferences: {} };
  }
}

async function writeDoc(path: string, doc: KubeconfigDoc): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, stringify(doc), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

function upsert(list: NamedEntry[] | null | undefined, entry: NamedEntry): NamedEntry[] {
  const out = [...(list ?? [])];
  const at = out.findIndex((e) => e.name === entry.name);
  if (at === -1) out.push(entry);
  else out[at] = entry;
  return out;
}

function findEntry(list: NamedEntry[] | null | undefined, name: string, what: string): NamedEntry {
  const found = (list ?? []).find((e) => e?.name === name);
  if (found === undefined) throw new KubeconfigError(`kubeconfig has no ${what} named "${name}"`);
  return found;
}

function section(entry: NamedEntry, key: string): Record<string, unknown> {
  const value = entry[key];
  if (value === null || value === undefined) return {};
  if (typeof value !== "object") throw new KubeconfigError(`${key} "${entry.name}" is malformed`);
  return value as Record<string, unknown>;
}

function stringField(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  return typeof v === "string" ? v : undefined;
}

/** `<field>-data` (base64) wins over `<field>` (a file path), as in client-go. */
function material(
  obj: Record<string, unknown>,
  field: string,
  baseDir: string,
): string | undefined {
  const data = stringField(obj, `${field}-data`);
  if (data !== undefined && data !== "") return Buffer.from(data, "base64").toString("utf8");
  return readPath(stringField(obj, field), baseDir);
}

function readPath(path: string | undefined, baseDir: string): string | undefined {
  if (path === undefined || path === "") return undefined;
  return readFileSync(isAbsolute(path) ? path : resolve(baseDir, path), "utf8");
}
