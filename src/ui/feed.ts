/**
 * The web view's live data: Service pictures kept current from the cluster's shared informers
 * (Services, EndpointSlices, Pods, ReplicaSets, Events), the DNS server's query log and the
 * proxy's traffic counters, batched for the page.
 *
 * Contract:
 * - Nothing polls the API: informer handlers mark Services dirty (a Service or slice event marks
 *   its Service; a pod event the Services of its namespace whose selector matches the pod's old
 *   or new labels), and one batch every `batchMs` (100 ms) rebuilds only those.
 * - The query log and the traffic counters are in-process rings read once a second (`tickMs`),
 *   only while someone listens; traffic is sent when it changed.
 * - A subscriber gets a snapshot first, then every batch; subscribers are called synchronously
 *   and must not throw (the server writes to a socket).
 *
 * @module
 */
import type { Event, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { InformerFactory } from "../client/factory.ts";
import type { QueryLog, QueryLogEntry } from "../dns/index.ts";
import type { TrafficCounter } from "../proxy/index.ts";
import { rcodeName, typeName } from "./dig.ts";
import { serviceView } from "./model.ts";
import type { Batch, EventRow, QueryView, ServiceView, Snapshot, TrafficView } from "./protocol.ts";

export interface FeedSources {
  informers: InformerFactory;
  clusterDomain: string;
  queryLog?: QueryLog | undefined;
  traffic?: TrafficCounter | undefined;
}

export interface FeedOptions {
  batchMs?: number;
  tickMs?: number;
  /** Queries sent in a snapshot (the newest). */
  snapshotQueries?: number;
}

export type Listener = (message: { snapshot: Snapshot } | { batch: Batch }) => void;

export interface Feed {
  subscribe(listener: Listener): () => void;
  /** The Events about one object, as `kubectl describe` lists them (oldest first). */
  events(kind: string, namespace: string, name: string): EventRow[];
  /** The current picture of every Service (for tests and the snapshot). */
  services(): ServiceView[];
  stop(): void;
}

const SERVICE_NAME = "kubernetes.io/service-name";
const INVOLVED = "loopkube-ui-involved";
const LABELS = "loopkube-ui-labels";

export function startFeed(sources: FeedSources, options: FeedOptions = {}): Feed {
  const { informers, clusterDomain } = sources;
  const batchMs = options.batchMs ?? 100;
  const tickMs = options.tickMs ?? 1000;
  const services = informers.get<KubeObject>(REFS.services);
  const slices = informers.get<KubeObject>(REFS.endpointslices);
  const pods = informers.get<KubeObject>(REFS.pods);
  const replicasets = informers.get<KubeObject>(REFS.replicasets);
  const events = informers.get<KubeObject>(REFS.events);
  const sliceIndex = "loopkube-ui-service";
  slices.index(sliceIndex, (o) => {
    const svc = o.metadata.labels?.[SERVICE_NAME];
    return svc ? [`${o.metadata.namespace ?? ""}/${svc}`] : [];
  });
  // Pods by each `namespace/label=value` they carry: a selector's candidates are those of one of
  // its pairs, not every pod of the namespace (1,000 Services × 10,000 pods otherwise).
  pods.index(LABELS, (o) =>
    Object.entries(o.metadata.labels ?? {}).map(
      ([k, v]) => `${o.metadata.namespace ?? ""}/${k}=${v}`,
    ),
  );
  events.index(INVOLVED, (o) => {
    const r = (o as unknown as Event).involvedObject;
    return r ? [`${r.kind}/${r.namespace ?? ""}/${r.name}`] : [];
  });

  const views = new Map<string, ServiceView>();
  const dirty = new Set<string>();
  const dirtyEvents = new Set<string>();
  const listeners = new Set<Listener>();
  let timer: NodeJS.Timeout | undefined;
  let lastSeq = sources.queryLog?.seq ?? 0;
  let lastTraffic = "";
  let pendingQueries: QueryView[] = [];
  let pendingTraffic: TrafficView[] | undefined;

  const ownerOf = (kind: string, namespace: string, name: string) => {
    if (kind !== "ReplicaSet") return undefined;
    const rs = replicasets.get(namespace, name);
    const ref = rs?.metadata.ownerReferences?.find((o) => o.controller);
    return ref ? { kind: ref.kind, name: ref.name } : undefined;
  };
  const build = (key: string): ServiceView | undefined => {
    const [namespace = "", name = ""] = key.split("/");
    const svc = services.get(namespace, name) as unknown as Service | undefined;
    if (!svc) return undefined;
    const selector = svc.spec?.selector;
    const svcSlices = slices.byIndex(sliceIndex, key) as unknown as EndpointSlice[];
    const byName = new Map<string, Pod>();
    if (selector && Object.keys(selector).length > 0) {
      const [k, v] = Object.entries(selector)[0]!;
      for (const p of pods.byIndex(LABELS, `${namespace}/${k}=${v}`)) {
        if (matches(selector, p.metadata.labels ?? {}))
          byName.set(p.metadata.name ?? "", p as unknown as Pod);
      }
    }
    for (const s of svcSlices) {
      for (const e of s.endpoints ?? []) {
        const n = e.targetRef?.kind === "Pod" ? e.targetRef.name : undefined;
        if (n && !byName.has(n)) {
          const p = pods.get(namespace, n);
          if (p) byName.set(n, p as unknown as Pod);
        }
      }
    }
    return serviceView(svc, {
      clusterDomain,
      slices: svcSlices,
      pods: [...byName.values()],
      ownerOf,
    });
  };

  const schedule = () => {
    timer ??= setTimeout(flush, batchMs);
  };
  const mark = (key: string) => {
    dirty.add(key);
    schedule();
  };
  const markPod = (o: KubeObject, old?: KubeObject) => {
    const ns = o.metadata.namespace ?? "";
    for (const s of services.list(ns)) {
      const sel = (s as unknown as Service).spec?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      if (matches(sel, o.metadata.labels ?? {}) || (old && matches(sel, old.metadata.labels ?? {})))
        mark(`${ns}/${s.metadata.name}`);
    }
  };
  const markSlice = (o: KubeObject) => {
    const svc = o.metadata.labels?.[SERVICE_NAME];
    if (svc) mark(`${o.metadata.namespace ?? ""}/${svc}`);
  };
  const markEvent = (o: KubeObject) => {
    const r = (o as unknown as Event).involvedObject;
    if (!r) return;
    dirtyEvents.add(`${r.kind}/${r.namespace ?? ""}/${r.name}`);
    schedule();
  };
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const removers = [
    services.addHandlers({
      onAdd: (o) => mark(keyOf(o)),
      onUpdate: (_a, o) => mark(keyOf(o)),
      onDelete: (o) => mark(keyOf(o)),
    }),
    slices.addHandlers({
      onAdd: markSlice,
      onUpdate: (a, b) => {
        markSlice(a);
        markSlice(b);
      },
      onDelete: markSlice,
    }),
    pods.addHandlers({
      onAdd: (o) => markPod(o),
      onUpdate: (a, b) => markPod(b, a),
      onDelete: (o) => markPod(o),
    }),
    events.addHandlers({
      onAdd: markEvent,
      onUpdate: (_a, b) => markEvent(b),
      onDelete: markEvent,
    }),
  ];

  const queryView = (e: QueryLogEntry): QueryView => ({
    seq: e.seq,
    at: e.at,
    name: e.name,
    type: typeName(e.type),
    rcode: rcodeName(e.rcode),
    answers: e.answers,
    latencyMs: Math.round(e.latencyMs * 1000) / 1000,
    namespace: namespaceOf(e.name, clusterDomain),
  });
  const readQueries = (limit?: number): QueryView[] => {
    const log = sources.queryLog;
    if (!log) return [];
    const entries = log.since(lastSeq, limit);
    lastSeq = log.seq;
    return entries.map(queryView);
  };
  const readTraffic = (): TrafficView[] =>
    (sources.traffic?.recent() ?? []).map((r) => {
      const colon = r.port.lastIndexOf(":");
      return {
        service: r.port.slice(0, colon),
        port: r.port.slice(colon + 1),
        endpoint: r.endpoint,
        connections: r.connections,
      };
    });

  const flush = () => {
    timer = undefined;
    const upsert: ServiceView[] = [];
    const remove: string[] = [];
    for (const key of dirty) {
      const v = build(key);
      if (v) {
        views.set(key, v);
        upsert.push(v);
      } else if (views.delete(key)) remove.push(key);
    }
    dirty.clear();
    const batch: Batch = { upsert, remove, queries: pendingQueries, events: [...dirtyEvents] };
    if (pendingTraffic) batch.traffic = pendingTraffic;
    pendingQueries = [];
    pendingTraffic = undefined;
    dirtyEvents.clear();
    if (listeners.size === 0) return;
    if (
      upsert.length + remove.length + batch.queries.length + batch.events.length === 0 &&
      !batch.traffic
    )
      return;
    for (const l of listeners) l({ batch });
  };

  const tick = setInterval(() => {
    if (listeners.size === 0) return;
    const q = readQueries();
    if (q.length > 0) {
      pendingQueries.push(...q);
      schedule();
    }
    const t = readTraffic();
    const text = JSON.stringify(t);
    if (text !== lastTraffic) {
      lastTraffic = text;
      pendingTraffic = t;
      schedule();
    }
  }, tickMs);
  tick.unref();

  return {
    subscribe(listener) {
      // Pending changes first, so the snapshot is current and the next batch is news.
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      for (const s of services.list()) {
        const key = keyOf(s);
        if (!views.has(key)) {
          const v = build(key);
          if (v) views.set(key, v);
        }
      }
      const traffic = readTraffic();
      lastTraffic = JSON.stringify(traffic);
      // The page drops queries it already has (by seq) from the batches that follow.
      const log = sources.queryLog;
      const queries = log
        ? log.since(Math.max(0, log.seq - (options.snapshotQueries ?? 200))).map(queryView)
        : [];
      listener({
        snapshot: {
          clusterDomain,
          services: [...views.values()],
          queries,
          traffic,
          windowSeconds: 60,
        },
      });
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    events(kind, namespace, name) {
      return (events.byIndex(INVOLVED, `${kind}/${namespace}/${name}`) as unknown as Event[])
        .map(eventRow)
        .sort((a, b) => a.last - b.last);
    },
    services() {
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      for (const s of services.list()) {
        const v = build(keyOf(s));
        if (v) views.set(v.key, v);
      }
      return [...views.values()];
    },
    stop() {
      for (const r of removers) r();
      if (timer) clearTimeout(timer);
      clearInterval(tick);
      listeners.clear();
    },
  };
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** `<…>.<ns>.svc.<domain>` and `<…>.<ns>.pod.<domain>` name a namespace; other names none. */
export function namespaceOf(name: string, clusterDomain: string): string {
  const lower = name.toLowerCase().replace(/\.$/, "");
  const suffix = `.${clusterDomain.toLowerCase()}`;
  if (!lower.endsWith(suffix)) return "";
  const labels = lower.slice(0, -suffix.length).split(".");
  const kind = labels.at(-1);
  if ((kind === "svc" || kind === "pod") && labels.length >= 2) return labels.at(-2) ?? "";
  return "";
}

function eventRow(e: Event): EventRow {
  const time = (s: string | undefined) => (s ? Date.parse(s) : 0);
  const last = time(e.lastTimestamp) || time(e.eventTime) || time(e.metadata?.creationTimestamp);
  const first = time(e.firstTimestamp) || last;
  const from = [e.source?.component ?? e.reportingComponent ?? "", e.source?.host ?? ""]
    .filter(Boolean)
    .join(", ");
  return {
    type: e.type ?? "Normal",
    reason: e.reason ?? "",
    last,
    first,
    count: e.count ?? e.series?.count ?? 1,
    from,
    message: e.message ?? "",
  };
}
