/**
 * The options of a cluster, shared by `startCluster` and `loopkube up`, and the one place their
 * defaults live (the address plan's are in `src/api/addressplan.ts`). The data dir defaults to `$XDG_DATA_HOME/loopkube/<name>` (or
 * `~/.local/share/loopkube/<name>`), as the XDG base directory specification asks.
 *
 * @module
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { KubeObject } from "../api/types.ts";
import type { Clock } from "../client/index.ts";
import type { ImageSource } from "../kubelet/index.ts";
import { ClusterError } from "./errors.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type RuntimeKind = "auto" | "process" | "simulated" | "oci";

export interface ClusterOptions {
  /** Default `loopkube`; names the kubeconfig context `loopkube-<name>`. */
  name?: string;
  dataDir?: string;
  /** Memory store and a temporary data dir removed on stop. */
  ephemeral?: boolean;
  /**
   * How pods run unless their RuntimeClass or `loopkube.dev/runtime` annotation says otherwise:
   * `auto` (default): `oci` where it can run (crun or runc as root, crun in a user namespace
   * without root), else `process`, and an
   * image that cannot be pulled because its registry is unreachable runs as `process` when
   * every container of its pod names a command; `process` (the host is the image);
   * `simulated`; or `oci` (each container from its image, run by crun or runc; without root by
   * crun in a user namespace, with no resource limits).
   */
  runtime?: RuntimeKind;
  /**
   * Library only, for tests: images handed to the `oci` runtime instead of the image store's (no
   * pull step then). Absent: the image store below, pulled per the pod's imagePullPolicy.
   */
  images?: ImageSource;
  /**
   * The image store's directory, shared by the user's clusters (default `LOOPKUBE_IMAGE_STORE`,
   * else `$XDG_DATA_HOME/loopkube/images`).
   */
  imageStore?: string;
  /** Registry hosts (`host:port`) pulled from over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
  /**
   * Where pods' networks live: `netns`, a network namespace per pod with its pod IP and its own
   * loopback (root); `host`, the host's namespace shared by every pod; `auto` (default): `netns`
   * where it can be used, else `host`. hostNetwork pods always share the host's.
   */
  podNetwork?: "netns" | "host" | "auto";
  /**
   * How pods reach ClusterIPs: `nftables`, kernel DNAT of connections coming from pods, as
   * kube-proxy's nftables mode (the pod's source address kept; needs pod network namespaces and
   * `nft`, else userspace with a warning); `userspace`, the proxy's listeners on the host;
   * `auto` (default): nftables where it works (root, pod network namespaces, `nft`), else
   * userspace, as kube-proxy defaults to its kernel mode. The host's own connections go through
   * the listeners in every mode.
   */
  proxyMode?: "userspace" | "nftables" | "auto";
  /**
   * Simulated nodes (default 1), each with its Lease, 110 pods and a block of the pod CIDR:
   * `<name>`, `<name>-2`, … Several nodes need the simulated runtime.
   */
  nodes?: number;
  /**
   * Whether loopkube's components act under their own identities (default true; see
   * `identities.ts`): each call of a controller, the scheduler, the node agent, the proxy and DNS
   * is authorized as kube authorizes its components. false gives them the all-powerful
   * in-process client (kube-controller-manager without `--use-service-account-credentials`, and
   * less); for comparisons.
   */
  componentIdentities?: boolean;
  /**
   * Pods a node takes (kubelet's `--max-pods`, default 110): beyond it the scheduler leaves pods
   * Pending with kube's "Too many pods". Library only; e.g. a test that needs 300 pods on one node.
   */
  maxPods?: number;
  /**
   * The kubelet's `containerLogMaxSize` and `containerLogMaxFiles`: a container's log is rotated
   * at this size (a quantity such as `10Mi`; negative: never) and this many files are kept
   * (at least 2). Defaults: the kubelet's, 10Mi and 5.
   */
  containerLogMaxSize?: string | number;
  containerLogMaxFiles?: number;
  /**
   * The API server's body worker threads, which parse and check request bodies over 64 KiB off
   * the event loop (default: one less than the cores, 1 to 2); 0 parses every body on the event
   * loop. Library only (benchmarks compare both).
   */
  apiBodyWorkers?: number;
  /** Default 6443, or a free port when 6443 is taken (said at info level); 0 picks a free port. */
  apiPort?: number;
  /**
   * The DNS server's port on 127.0.0.1: default 53 when this process may bind it, else a free
   * high port (said at info level); 0 picks a free port. It also listens on its kube-dns
   * ClusterIP:53 where it may.
   */
  dnsPort?: number;
  /**
   * Port of the DNS server's Prometheus `/metrics` on 127.0.0.1 (CoreDNS serves :9153); default
   * 0, a free port, so that clusters side by side never collide. `Cluster.dnsMetricsUrl` tells it.
   */
  dnsMetricsPort?: number;
  /**
   * The read-only web view (src/ui) on 127.0.0.1: `{ port }` serves it (port 0 or absent: a free
   * one); absent or false: not served (the CLI's `up` serves it unless `--no-ui`).
   */
  ui?: false | { port?: number };
  /** The DNS domain of Services and pods; default `cluster.local`. */
  clusterDomain?: string;
  /**
   * Service ClusterIP range inside 127.0.0.0/8. Default: chosen at start (127.96.0.0/16 for a
   * lone cluster; see `src/api/addressplan.ts`).
   */
  serviceCidr?: string;
  /** Pod IP range inside 127.0.0.0/8. Default: chosen at start (127.244.0.0/16 when alone). */
  podCidr?: string;
  /** Merge a `loopkube-<name>` context into the user's kubeconfig (default false here). */
  updateKubeconfig?: boolean;
  /** Path of the user's kubeconfig; default `$KUBECONFIG` (first entry) or `~/.kube/config`. */
  userKubeconfig?: string;
  logLevel?: LogLevel;
  /** Told about each start step and how long it took. */
  onStep?: (step: string, durationMs: number) => void;
  /** Where logs go (default: stderr, filtered by `logLevel`). */
  log?: (level: LogLevel, message: string) => void;
  /**
   * Library only, for tests: the clock CronJob schedules run on (its time and its delays), so a
   * test can move a schedule on by hand instead of waiting minutes. Default: real time.
   */
  scheduleClock?: Clock;
  /**
   * Library only, for tests: the HPA controller's sync period and downscale stabilization window
   * (kube-controller-manager's `--horizontal-pod-autoscaler-*` flags; defaults 15 s and 5 min).
   */
  hpa?: { syncPeriodMs?: number; downscaleStabilizationMs?: number };
  /**
   * Library only (envtest's `CRDInstallOptions`): CustomResourceDefinitions to install, as
   * objects and as files or folders of YAML/JSON (documents of other kinds are skipped); start
   * returns once each is Established and fails with the API's message on a bad one.
   */
  crds?: readonly KubeObject[];
  crdPaths?: readonly string[];
}

export const CLUSTER_DEFAULTS = {
  name: "loopkube",
  runtime: "auto" as RuntimeKind,
  apiPort: 6443,
  logLevel: "warn" as LogLevel,
  nodeName: "loopkube",
  nodes: 1,
};

/** Whole-cluster node count: several nodes are simulated ones (no process runs on a node). */
export function checkNodes(nodes: number, runtime: RuntimeKind): void {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 10_000) {
    throw new ClusterError(`node count ${nodes} is not a whole number from 1 to 10000`);
  }
  if (nodes > 1 && runtime !== "simulated") {
    throw new ClusterError(`${nodes} nodes need the simulated runtime (--runtime simulated)`);
  }
}

const LEVELS: LogLevel[] = ["error", "warn", "info", "debug"];

export function isLogLevel(s: string): s is LogLevel {
  return (LEVELS as string[]).includes(s);
}

export function logAtLevel(level: LogLevel): (l: LogLevel, message: string) => void {
  const max = LEVELS.indexOf(level);
  return (l, message) => {
    if (LEVELS.indexOf(l) <= max) process.stderr.write(`${l}: ${message}\n`);
  };
}

/** `$XDG_DATA_HOME/loopkube/<name>`, or `~/.local/share/loopkube/<name>`. */
export function defaultDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.trim() ? env.XDG_DATA_HOME : join(homedir(), ".local", "share");
  return resolve(base, "loopkube", name);
}

/** `$KUBECONFIG`'s first entry, or `~/.kube/config`, as kubectl picks the file it writes to. */
export function defaultUserKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.KUBECONFIG?.split(":").find((p) => p.trim() !== "");
  return first ? resolve(first) : join(homedir(), ".kube", "config");
}

export function contextName(clusterName: string): string {
  return `loopkube-${clusterName}`;
}

/** Kubernetes names a cluster after: DNS-1123 label, so it fits a kubeconfig context and a dir. */
export function checkClusterName(name: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    throw new ClusterError(
      `cluster name "${name}" is not valid: use lower-case letters, digits and '-' (at most 63)`,
    );
  }
}

export function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ClusterError(`${what} ${port} is not a port number (0-65535; 0 picks a free one)`);
  }
}
