/**
 * The `metrics.k8s.io/v1beta1` group as metrics-server serves it: `nodes` (NodeMetrics,
 * cluster-scoped) and `pods` (PodMetrics, namespaced), get and list only, no store behind them.
 * The figures come from a `MetricsProvider` (the node agent's measurements, wired in by the
 * cluster); this module turns them into the wire objects kubectl top decodes: `timestamp`
 * (RFC 3339, seconds), `window` (a Go duration string), usage `cpu` as a canonical decimal
 * quantity of nanocores (`123456n`, `5m`) and `memory` as a canonical binary quantity of bytes
 * (`10240Ki`), labels copied from the Node or Pod.
 *
 * @module
 */
import type { ResourceInfo } from "./resources.ts";

export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_VERSION = "v1beta1";
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

export interface Usage {
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface Measured {
  /** When the figures were read (the end of the window). */
  timestamp: Date;
  /** The span the CPU rate was measured over. */
  windowMs: number;
}

export interface MetricsSnapshot {
  nodes: ReadonlyMap<string, Usage & Measured>;
  /** Keyed `<namespace>/<name>`. */
  pods: ReadonlyMap<string, Measured & { containers: ReadonlyArray<Usage & { name: string }> }>;
}

/** Where the figures come from: one snapshot per request. */
export interface MetricsProvider {
  collect(): Promise<MetricsSnapshot>;
}

// metrics-server's storages implement Getter and Lister (no watch) and give no singular name.
const entry = (resource: string, kind: string, namespaced: boolean): ResourceInfo => ({
  group: METRICS_GROUP,
  version: METRICS_VERSION,
  kind,
  listKind: `${kind}List`,
  resource,
  singular: "",
  namespaced,
  shortNames: [],
  categories: [],
  verbs: ["get", "list"],
  subresources: [],
});

/** The group's resources, for discovery. */
export const METRICS_RESOURCES: readonly ResourceInfo[] = [
  entry("nodes", "NodeMetrics", false),
  entry("pods", "PodMetrics", true),
];

const DECIMAL = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"];
const BINARY = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/**
 * A CPU figure as apimachinery prints `NewScaledQuantity(nanocores, Nano)`: the integer with the
 * largest decimal suffix that keeps it whole (`1500000n` → `1500u`, `2000000000n` → `2`).
 */
export function formatNanoCores(nanocores: number): string {
  let v = Math.max(0, Math.round(nanocores));
  if (v === 0) return "0";
  let i = 0;
  while (v % 1000 === 0 && i < DECIMAL.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v}${DECIMAL[i]}`;
}

/**
 * A byte count as apimachinery prints a BinarySI quantity: the largest binary suffix that keeps
 * it whole (`4096` → `4Ki`, `1048576` → `1Mi`, `1500` → `1500`), and values below 1024 in decimal
 * form (`1000` → `1k`), as `CanonicalizeBytes` does.
 */
export function formatBytes(bytes: number): string {
  let v = Math.max(0, Math.round(bytes));
  if (v < 1024) return formatNanoCores(v * 1e9);
  let i = 0;
  while (v % 1024 === 0 && i < BINARY.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${BINARY[i]}`;
}

/** A duration as Go's `time.Duration.String()` prints it, to the millisecond: `15s`, `1m0.5s`, `250ms`. */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return "0s";
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const frac = total % 1000;
  const sec = frac ? `${s}.${String(frac).padStart(3, "0").replace(/0+$/, "")}s` : `${s}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

const seconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

const usage = (u: Usage) => ({
  cpu: formatNanoCores(u.cpuNanoCores),
  memory: formatBytes(u.memoryBytes),
});

interface Meta {
  name?: string | undefined;
  namespace?: string | undefined;
  labels?: Record<string, string> | undefined;
}

function metadata(meta: Meta, now: Date) {
  return {
    name: meta.name ?? "",
    ...(meta.namespace ? { namespace: meta.namespace } : {}),
    creationTimestamp: seconds(now),
    ...(meta.labels && Object.keys(meta.labels).length ? { labels: { ...meta.labels } } : {}),
  };
}

export interface MetricsObject {
  kind: string;
  apiVersion: string;
  metadata: ReturnType<typeof metadata>;
  timestamp: string;
  window: string;
  [field: string]: unknown;
}

export function nodeMetrics(node: Meta, m: Usage & Measured, now: Date): MetricsObject {
  return {
    kind: "NodeMetrics",
    apiVersion: API_VERSION,
    metadata: metadata(node, now),
    timestamp: seconds(m.timestamp),
    window: goDuration(m.windowMs),
    usage: usage(m),
  };
}

export function podMetrics(
  pod: Meta,
  m: MetricsSnapshot["pods"] extends ReadonlyMap<string, infer V> ? V : never,
  now: Date,
): MetricsObject {
  return {
    kind: "PodMetrics",
    apiVersion: API_VERSION,
    metadata: metadata(pod, now),
    timestamp: seconds(m.timestamp),
    window: goDuration(m.windowMs),
    containers: m.containers.map((c) => ({ name: c.name, usage: usage(c) })),
  };
}

export function metricsList(kind: "NodeMetrics" | "PodMetrics", items: MetricsObject[]) {
  return { kind: `${kind}List`, apiVersion: API_VERSION, metadata: {}, items };
}

/** A pod's usage summed over its containers (a node's is its own), for the Table's cells. */
export function totalUsage(containers: ReadonlyArray<Usage>): Usage {
  return containers.reduce(
    (t, c) => ({
      cpuNanoCores: t.cpuNanoCores + c.cpuNanoCores,
      memoryBytes: t.memoryBytes + c.memoryBytes,
    }),
    { cpuNanoCores: 0, memoryBytes: 0 },
  );
}

/** metrics-server's Table (`kubectl get pods.metrics.k8s.io`): Name, cpu, memory, Window. */
export function metricsTable(rows: Array<{ object: MetricsObject; total: Usage }>) {
  const column = (name: string, format: string, description = "") => ({
    name,
    type: "string",
    format,
    description,
    priority: 0,
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {},
    columnDefinitions: [
      column("Name", "name", "Name of the resource"),
      column("cpu", "quantity"),
      column("memory", "quantity"),
      column("Window", "duration"),
    ],
    rows: rows.map(({ object, total }) => ({
      cells: [
        object.metadata.name,
        formatNanoCores(total.cpuNanoCores),
        formatBytes(total.memoryBytes),
        object.window,
      ],
      object: {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: object.metadata,
      },
    })),
  };
}
