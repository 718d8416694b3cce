/**
 * The DNS component's `/metrics` over plain HTTP, as CoreDNS's `prometheus` plugin serves it
 * (`localhost:9153/metrics`, no authentication): the series of every DNS server given (one per
 * listening address in a cluster), `coredns_build_info` and the `process_*` families, in the
 * Prometheus text format. Any other path answers 404, a method other than GET or HEAD 405.
 *
 * Port 0 picks a free port; `url` says which.
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import { writeProcessMetrics } from "../api/processmetrics.ts";
import { PROMETHEUS_CONTENT_TYPE, PrometheusWriter } from "../api/prometheus.ts";
import { VERSION } from "../api/version.ts";
import { writeBuildInfo } from "./metrics.ts";
import type { DnsServer } from "./server.ts";

export interface DnsMetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The DNS servers whose series are served, read at each scrape. */
  servers: () => Iterable<DnsServer>;
}

export interface DnsMetricsServer {
  /** `http://<host>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

/** The page a scrape reads. */
export function renderDnsMetrics(servers: Iterable<DnsServer>): string {
  const w = new PrometheusWriter();
  writeBuildInfo(w, VERSION);
  for (const s of servers) s.handler.metrics.write(w, s.handler.cache.types);
  writeProcessMetrics(w);
  return w.text();
}

export async function startDnsMetricsServer(
  options: DnsMetricsServerOptions,
): Promise<DnsMetricsServer> {
  const server: Server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "Content-Type": "text/plain; charset=utf-8", Allow: "GET, HEAD" });
      res.end("method not allowed\n");
      return;
    }
    const body = renderDnsMetrics(options.servers());
    res.writeHead(200, {
      "Content-Type": PROMETHEUS_CONTENT_TYPE,
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
