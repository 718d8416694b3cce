/**
 * The cluster config file of `loopkube up --config FILE`: what `up`'s flags carry, in a
 * Kubernetes-shaped object, read strictly.
 *
 * ```yaml
 * apiVersion: loopkube.dev/v1alpha1
 * kind: Cluster
 * metadata:
 *   name: dev
 * spec:
 *   runtime: process
 *   apiPort: 0
 *   manifests: [app/]
 * ```
 *
 * - `metadata.name` is `--name`; every `spec` field is the camelCase name of `startCluster`'s
 *   option (`dataDir`, `ephemeral`, `runtime`, `insecureRegistries`, `nodes`, `apiPort`, `dnsPort`,
 *   `dnsMetricsPort`, `podNetwork`, `proxyMode`, `clusterDomain`,
 *   `podCidr`, `serviceCidr`, `updateKubeconfig`, `logLevel`), plus `manifests` (`-f`), `wait`
 *   and `logFormat`. kind's `kind.x-k8s.io/v1alpha4` Cluster and k3d's `SimpleConfig` name things
 *   per tool; here one setting has one name, in the library, the file and (kebab-cased) the flag.
 * - Paths (`dataDir`, `manifests`) are relative to the file, as kustomization paths are.
 * - Strict as kube's strict decoding: an unknown field is refused (`unknown field
 *   "spec.nodez"`), a duplicate key too, and each bad value is named by its path
 *   (`spec.nodes: must be a whole number from 1 to 10000`). Every problem is reported at once.
 * - `--detach` stays a flag: it says how this command runs, not what the cluster is (and the
 *   detached child reads the same file).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { parseCidr } from "../api/cidr.ts";
import { ClusterError } from "../cluster/index.ts";
import { API_VERSION } from "./_output.ts";

/** A config file's settings, keyed by the `up` option (commander attribute) each one sets. */
export interface ConfigValues {
  name?: string;
  dataDir?: string;
  ephemeral?: boolean;
  runtime?: string;
  insecureRegistry?: string[];
  nodes?: number;
  apiPort?: number;
  dnsPort?: number;
  dnsMetricsPort?: number;
  podNetwork?: string;
  proxyMode?: string;
  clusterDomain?: string;
  podCidr?: string;
  serviceCidr?: string;
  filename?: string[];
  wait?: boolean;
  kubeconfigUpdate?: boolean;
  logLevel?: string;
  logFormat?: string;
}

type Check = (value: unknown, path: string, dir: string) => { value: unknown } | string;

const bool: Check = (v) => (typeof v === "boolean" ? { value: v } : "must be true or false");
const wholeNumber =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
      ? { value: v }
      : `must be a whole number from ${min} to ${max}`;
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === "string" && values.includes(v)
      ? { value: v }
      : `must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
const aPath: Check = (v, _p, dir) =>
  typeof v === "string" && v !== "" ? { value: resolve(dir, v) } : "must be a path (a string)";
const cidr: Check = (v) => {
  if (typeof v !== "string") return "must be an IPv4 CIDR such as 127.96.0.0/16";
  try {
    parseCidr(v);
    return { value: v };
  } catch {
    return "must be an IPv4 CIDR such as 127.96.0.0/16";
  }
};
const domain: Check = (v) =>
  typeof v === "string" &&
  v.length <= 253 &&
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v)
    ? { value: v }
    : "must be a DNS domain of lower-case labels (e.g. cluster.local)";
const clusterName: Check = (v) =>
  typeof v === "string" && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)
    ? { value: v }
    : "must be lower-case letters, digits and '-', at most 63, starting and ending alphanumeric";

/** spec field → [the `up` option it sets, its check]. */
const SPEC: Record<string, [keyof ConfigValues, Check]> = {
  dataDir: ["dataDir", aPath],
  ephemeral: ["ephemeral", bool],
  runtime: ["runtime", oneOf("auto", "process", "simulated", "oci")],
  insecureRegistries: ["insecureRegistry", hosts],
  nodes: ["nodes", wholeNumber(1, 10_000)],
  apiPort: ["apiPort", wholeNumber(0, 65_535)],
  dnsPort: ["dnsPort", wholeNumber(0, 65_535)],
  dnsMetricsPort: ["dnsMetricsPort", wholeNumber(0, 65_535)],
  clusterDomain: ["clusterDomain", domain],
  podCidr: ["podCidr", cidr],
  podNetwork: ["podNetwork", oneOf("auto", "netns", "host")],
  proxyMode: ["proxyMode", oneOf("userspace", "nftables", "auto")],
  serviceCidr: ["serviceCidr", cidr],
  manifests: ["filename", paths],
  wait: ["wait", bool],
  updateKubeconfig: ["kubeconfigUpdate", bool],
  logLevel: ["logLevel", oneOf("error", "warn", "info", "debug")],
  logFormat: ["logFormat", oneOf("text", "json")],
};

function hosts(v: unknown): { value: unknown } | string {
  if (!Array.isArray(v)) return "must be a list of registry hosts (host or host:port)";
  for (const [i, h] of v.entries()) {
    if (
      typeof h !== "string" ||
      !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(h)
    )
      return `[${i}]: must be a registry host (host or host:port)`;
  }
  return { value: v };
}

function paths(v: unknown, p: string, dir: string): { value: unknown } | string {
  if (!Array.isArray(v)) return "must be a list of paths";
  const out: string[] = [];
  for (const [i, item] of v.entries()) {
    const r = aPath(item, `${p}[${i}]`, dir);
    if (typeof r === "string") return `[${i}]: ${r}`;
    out.push(r.value as string);
  }
  return { value: out };
}

/** The field of the file that sets an `up` option: `filename` → `spec.manifests`. */
export function configField(key: string): string {
  if (key === "name") return "metadata.name";
  const entry = Object.entries(SPEC).find(([, [option]]) => option === key);
  return entry ? `spec.${entry[0]}` : key;
}

/** The settings of a config file's text; `dir` is where its relative paths start. */
export function parseClusterConfig(text: string, dir: string): ConfigValues {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw new ClusterError(`is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const problems: string[] = [];
  const values: ConfigValues = {};
  if (!isObject(doc)) throw new ClusterError("must be a YAML mapping (apiVersion, kind, spec)");
  for (const key of Object.keys(doc)) {
    if (!["apiVersion", "kind", "metadata", "spec"].includes(key))
      problems.push(`unknown field ${JSON.stringify(key)}`);
  }
  if (doc.apiVersion !== API_VERSION) problems.push(`apiVersion: must be "${API_VERSION}"`);
  if (doc.kind !== "Cluster") problems.push('kind: must be "Cluster"');
  const metadata = doc.metadata ?? {};
  if (!isObject(metadata)) problems.push("metadata: must be a mapping");
  else {
    for (const [key, v] of Object.entries(metadata)) {
      if (key !== "name") problems.push(`unknown field "metadata.${key}"`);
      else take(values, "name", clusterName(v, "metadata.name", dir), "metadata.name", problems);
    }
  }
  const spec = doc.spec ?? {};
  if (!isObject(spec)) problems.push("spec: must be a mapping");
  else {
    for (const [key, v] of Object.entries(spec)) {
      const field = SPEC[key];
      if (!field) problems.push(`unknown field "spec.${key}"`);
      else take(values, field[0], field[1](v, `spec.${key}`, dir), `spec.${key}`, problems);
    }
  }
  if (problems.length > 0) throw new ClusterError(problems.join("; "));
  return values;
}

function take(
  values: ConfigValues,
  key: keyof ConfigValues,
  r: { value: unknown } | string,
  at: string,
  problems: string[],
): void {
  if (typeof r === "string") problems.push(r.startsWith("[") ? `${at}${r}` : `${at}: ${r}`);
  else (values as Record<string, unknown>)[key] = r.value;
}

/** Reads and checks a config file; a problem is one ClusterError naming the file. */
export function readClusterConfig(file: string): ConfigValues {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ClusterError(
      `config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  try {
    return parseClusterConfig(text, dirname(resolve(file)));
  } catch (err) {
    if (err instanceof ClusterError) throw new ClusterError(`config ${file}: ${err.message}`);
    throw err;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
