/**
 * Request metrics in kube-apiserver's names, and the wrappers that feed them: every request the
 * HTTPS listener hands on (after authentication) and every upgraded streaming request passes
 * through `instrumentRequests` / `instrumentUpgrades`, which serve `GET /metrics` themselves and
 * time and count the rest:
 *
 * - `apiserver_request_total` and `apiserver_request_duration_seconds` (kube's buckets), recorded
 *   when the response is done, so a watch counts when it ends, as in kube;
 * - `apiserver_response_sizes` for reads (what kube serves from a GET or LIST handler: gets,
 *   lists, watches, logs);
 * - `apiserver_longrunning_requests` while a watch or a streaming subresource is open;
 * - `apiserver_current_inflight_requests{request_kind}`: the most requests (long-running ones
 *   left out) in flight at once over the last one to two seconds, readOnly (GET, HEAD) or
 *   mutating.
 *
 * Labels come from `requestlabels.ts`; requests it does not label are not counted. Figures live
 * in maps keyed by the label values and turn into text only when `/metrics` is read.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { methodNotAllowed } from "../../api/errors.ts";
import {
  exponentialBuckets,
  Histogram,
  type Labels,
  type PrometheusWriter,
} from "../../api/prometheus.ts";
import { isLongRunning, type RequestLabels, requestLabels } from "./requestlabels.ts";
import { sendError } from "./respond.ts";

/** kube's `apiserver_request_duration_seconds` buckets (SLO-oriented, 5 ms to 60 s). */
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45,
  60,
];
/** kube's `apiserver_response_sizes` buckets: 1 KB to 1 GB, ×10. */
export const RESPONSE_SIZE_BUCKETS = exponentialBuckets(1000, 10, 7);

const WINDOW_MS = 1000;

/** The most requests of one kind in flight at once, over the current and the previous second. */
class Watermark {
  current = 0;
  private windowStart = 0;
  private windowMax = 0;
  private previousMax = 0;

  constructor(private readonly now: () => number) {}

  private roll(): void {
    const t = this.now();
    if (t - this.windowStart < WINDOW_MS) return;
    this.previousMax = t - this.windowStart < 2 * WINDOW_MS ? this.windowMax : this.current;
    this.windowMax = this.current;
    this.windowStart = t;
  }

  add(delta: number): void {
    this.roll();
    this.current += delta;
    if (this.current > this.windowMax) this.windowMax = this.current;
  }

  read(): number {
    this.roll();
    return Math.max(this.previousMax, this.windowMax);
  }
}

interface Series<T> {
  labels: Labels;
  value: T;
}

function getOrAdd<T>(map: Map<string, Series<T>>, key: string, make: () => Series<T>): Series<T> {
  let s = map.get(key);
  if (!s) {
    s = make();
    map.set(key, s);
  }
  return s;
}

// Label names in the order the Go client writes them (sorted).
function requestLabelList(l: RequestLabels, withDryRun: boolean, code?: number): Labels {
  const out: Array<[string, string]> = [];
  if (code !== undefined) out.push(["code", String(code)]);
  out.push(["component", l.component]);
  if (withDryRun) out.push(["dry_run", l.dryRun]);
  out.push(
    ["group", l.group],
    ["resource", l.resource],
    ["scope", l.scope],
    ["subresource", l.subresource],
    ["verb", l.verb],
    ["version", l.version],
  );
  return out;
}

function keyOf(l: RequestLabels): string {
  return `${l.verb}|${l.dryRun}|${l.group}|${l.version}|${l.resource}|${l.subresource}|${l.scope}|${l.component}`;
}

export class RequestMetrics {
  private readonly total = new Map<string, Series<number>>();
  private readonly durations = new Map<string, Series<Histogram>>();
  private readonly sizes = new Map<string, Series<Histogram>>();
  private readonly longRunning = new Map<string, Series<number>>();
  readonly readOnly: Watermark;
  readonly mutating: Watermark;

  constructor(now: () => number = Date.now) {
    this.readOnly = new Watermark(now);
    this.mutating = new Watermark(now);
  }

  /**
   * A finished request: its status code (0 when none was written), seconds, and the body bytes
   * of a read (undefined for writes, which `apiserver_response_sizes` leaves out).
   */
  record(labels: RequestLabels, code: number, seconds: number, bytes?: number): void {
    const key = keyOf(labels);
    getOrAdd(this.total, `${key}|${code}`, () => ({
      labels: requestLabelList(labels, true, code),
      value: 0,
    })).value++;
    getOrAdd(this.durations, key, () => ({
      labels: requestLabelList(labels, true),
      value: new Histogram(REQUEST_DURATION_BUCKETS),
    })).value.observe(seconds);
    if (bytes !== undefined) {
      getOrAdd(this.sizes, key, () => ({
        labels: requestLabelList(labels, false),
        value: new Histogram(RESPONSE_SIZE_BUCKETS),
      })).value.observe(bytes);
    }
  }

  /** A long-running request opened (+1) or ended (-1). */
  longRunningDelta(labels: RequestLabels, delta: number): void {
    getOrAdd(this.longRunning, keyOf(labels), () => ({
      labels: requestLabelList(labels, false),
      value: 0,
    })).value += delta;
  }

  /** Appends the request families, with kube's HELP texts (and stability prefixes). */
  write(w: PrometheusWriter): void {
    w.family(
      "apiserver_current_inflight_requests",
      "gauge",
      "[STABLE] Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
    );
    w.sample(
      "apiserver_current_inflight_requests",
      [["request_kind", "mutating"]],
      this.mutating.read(),
    );
    w.sample(
      "apiserver_current_inflight_requests",
      [["request_kind", "readOnly"]],
      this.readOnly.read(),
    );
    w.family(
      "apiserver_longrunning_requests",
      "gauge",
      "[STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
    );
    for (const s of sorted(this.longRunning))
      w.sample("apiserver_longrunning_requests", s.labels, s.value);
    w.family(
      "apiserver_request_duration_seconds",
      "histogram",
      "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
    );
    for (const s of sorted(this.durations))
      w.histogram("apiserver_request_duration_seconds", s.labels, s.value);
    w.family(
      "apiserver_request_total",
      "counter",
      "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
    );
    for (const s of sorted(this.total)) w.sample("apiserver_request_total", s.labels, s.value);
    w.family(
      "apiserver_response_sizes",
      "histogram",
      "[STABLE] Response size distribution in bytes for each group, version, verb, resource, subresource, scope and component.",
    );
    for (const s of sorted(this.sizes)) w.histogram("apiserver_response_sizes", s.labels, s.value);
  }
}

/** Series in a stable order (by their label text), as a scrape reads best. */
function sorted<T>(map: Map<string, Series<T>>): Array<Series<T>> {
  const text = (s: Series<T>) => s.labels.map(([, v]) => v).join("\u0000");
  return [...map.values()].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

type Handle = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>;
type Write = (chunk: unknown, ...rest: unknown[]) => unknown;

function chunkBytes(chunk: unknown): number {
  if (typeof chunk === "string") return Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.length;
  return 0;
}

/** Counts the body bytes of one response by wrapping its `write` and `end`. */
function countBytes(res: ServerResponse): { bytes: number } {
  const counter = { bytes: 0 };
  const target = res as unknown as { write: Write; end: Write };
  const write = target.write;
  const end = target.end;
  target.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    counter.bytes += chunkBytes(chunk);
    return write.call(this, chunk, ...rest);
  };
  target.end = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk !== "function") counter.bytes += chunkBytes(chunk);
    return end.call(this, chunk, ...rest);
  };
  return counter;
}

const NOT_READ_SUBRESOURCES = new Set(["exec", "attach", "portforward", "proxy"]);

/**
 * Whether kube observes the response size: its handlers registered as GET or LIST, which serve
 * every GET of a resource (watches and logs included) but not the exec, attach, port-forward and
 * proxy connections, and the non-resource GET handlers (health checks, discovery).
 */
function isRead(method: string, labels: RequestLabels): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  return !NOT_READ_SUBRESOURCES.has(labels.subresource);
}

function isMetricsPath(url: string): boolean {
  return url === "/metrics" || url.startsWith("/metrics?");
}

/**
 * Wraps the request handler: `/metrics` answers `render()` in the Prometheus text format (GET and
 * HEAD; other methods 405), everything else is timed and counted around `handle`.
 */
export function instrumentRequests(
  handle: Handle,
  metrics: RequestMetrics,
  render: () => { contentType: string; body: string },
): Handle {
  return (req, res) => {
    const url = req.url ?? "/";
    const method = req.method ?? "GET";
    const labels = requestLabels({
      method,
      url,
      contentType: req.headers["content-type"],
      accept: req.headers.accept,
    });
    const longRunning = labels !== undefined && isLongRunning(labels);
    const start = performance.now();
    if (longRunning) metrics.longRunningDelta(labels, 1);
    // kube's readOnly kind: the get, list and watch verbs, which GET and HEAD map to.
    const readOnly = method === "GET" || method === "HEAD";
    const inflight = longRunning ? undefined : readOnly ? metrics.readOnly : metrics.mutating;
    inflight?.add(1);
    const sized = labels && isRead(method, labels) ? countBytes(res) : undefined;
    res.once("close", () => {
      inflight?.add(-1);
      if (!labels) return;
      if (longRunning) metrics.longRunningDelta(labels, -1);
      const code = res.headersSent ? res.statusCode : 0;
      metrics.record(labels, code, (performance.now() - start) / 1000, sized?.bytes);
    });
    if (isMetricsPath(url)) {
      if (method !== "GET" && method !== "HEAD") {
        req.resume();
        sendError(res, methodNotAllowed(method, "/metrics"));
        return Promise.resolve();
      }
      const { contentType, body } = render();
      res.writeHead(200, {
        "Content-Type": contentType,
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(method === "HEAD" ? undefined : body);
      return Promise.resolve();
    }
    return handle(req, res);
  };
}

/** The status code at the head of what is first written on an upgraded socket, else 0. */
function statusOf(chunk: unknown): number {
  const text =
    typeof chunk === "string"
      ? chunk.slice(0, 16)
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk.subarray(0, 16)).toString("latin1")
        : "";
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Wraps the upgrade handler (exec, attach, port-forward): the request is long-running while its
 * socket is open and counted, with the status line it was answered with, when the socket closes.
 */
export function instrumentUpgrades(upgrade: Upgrade, metrics: RequestMetrics): Upgrade {
  return (req, socket, head) => {
    const labels = requestLabels({
      method: req.method ?? "GET",
      url: req.url ?? "/",
      contentType: req.headers["content-type"],
    });
    if (!labels) return upgrade(req, socket, head);
    const start = performance.now();
    metrics.longRunningDelta(labels, 1);
    let code = 0;
    const target = socket as unknown as { write: Write; end: Write };
    const write = target.write;
    const end = target.end;
    const first = (chunk: unknown) => {
      if (code === 0) code = statusOf(chunk);
      target.write = write;
      target.end = end;
    };
    target.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      first(chunk);
      return write.call(this, chunk, ...rest);
    };
    target.end = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      first(chunk);
      return end.call(this, chunk, ...rest);
    };
    socket.once("close", () => {
      metrics.longRunningDelta(labels, -1);
      metrics.record(labels, code, (performance.now() - start) / 1000);
    });
    return upgrade(req, socket, head);
  };
}
