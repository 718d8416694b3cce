/**
 * The web view (`loopkube up` serves it; `loopkube ui` prints its address): a read-only picture
 * of each namespace's Services, the DNS names the cluster DNS answers for them, their endpoints,
 * the pods and owners behind them, the proxy's traffic and the objects' Events, live through one
 * server-sent-events stream fed by the cluster's informers and in-process counters.
 *
 * It reads what the cluster hands it (informers, the DNS server's query log and address, the
 * proxy's traffic counters) and never writes anything.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import type { InformerFactory } from "../client/factory.ts";
import type { QueryLog } from "../dns/index.ts";
import type { TrafficCounter } from "../proxy/index.ts";
import { startFeed } from "./feed.ts";
import { startWebServer } from "./server.ts";

export { dig, formatDig } from "./dig.ts";
export { type Feed, namespaceOf, startFeed } from "./feed.ts";
export { serviceView } from "./model.ts";
export type * from "./protocol.ts";
export { isLoopback } from "./server.ts";

export interface WebViewOptions {
  informers: InformerFactory;
  clusterDomain: string;
  dns: { host: string; port: number };
  queryLog?: QueryLog | undefined;
  traffic?: TrafficCounter | undefined;
  /** Loopback address to listen on (default 127.0.0.1) and port (default 0: a free one). */
  host?: string;
  port?: number;
  /** The access token (default: 24 random bytes, hex). */
  token?: string;
  /** Other bearer tokens accepted (the cluster's credentials). */
  bearerTokens?: readonly string[];
}

export interface WebView {
  /** The page's address with its token, to print and open. */
  url: string;
  port: number;
  token: string;
  stop(): Promise<void>;
}

export async function startWebView(options: WebViewOptions): Promise<WebView> {
  const token = options.token ?? randomBytes(24).toString("hex");
  const feed = startFeed({
    informers: options.informers,
    clusterDomain: options.clusterDomain,
    queryLog: options.queryLog,
    traffic: options.traffic,
  });
  try {
    const server = await startWebServer({
      feed,
      token,
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      dns: options.dns,
      ...(options.bearerTokens ? { bearerTokens: options.bearerTokens } : {}),
    });
    return {
      url: server.url,
      port: server.port,
      token,
      async stop() {
        feed.stop();
        await server.close();
      },
    };
  } catch (err) {
    feed.stop();
    throw err;
  }
}
