/**
 * The web view's HTTP server: read-only, on a loopback address only, behind a token.
 *
 * Contract:
 * - Listens on `host` (a loopback address; anything else is refused at start) and answers only
 *   requests whose Host header names that address or `localhost` with the port (a page from
 *   another site cannot reach it through DNS rebinding).
 * - Every request needs the per-cluster token: `?token=` (then also kept in an HttpOnly,
 *   SameSite=Strict cookie named for the port, so the page's own requests carry it), that cookie,
 *   or `Authorization: Bearer` with the token or one of `bearerTokens` (the cluster's
 *   credentials). Tokens are compared in constant time.
 * - GET and HEAD only: `/` (the page), `/app.js`, `/api/stream` (server-sent events),
 *   `/api/dns?name=&type=` (a real query to the cluster DNS), `/api/events?kind=&namespace=&name=`.
 * - A stream whose client does not keep up (more than `maxBufferedBytes` unsent) is closed; the
 *   browser's EventSource reconnects and gets a fresh snapshot.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pageHtml, pageScript } from "./assets.ts";
import { dig } from "./dig.ts";
import type { Feed } from "./feed.ts";

export interface WebServerOptions {
  feed: Feed;
  token: string;
  host: string;
  port: number;
  dns: { host: string; port: number };
  bearerTokens?: readonly string[];
  maxBufferedBytes?: number;
}

export interface WebServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { feed, token, host } = options;
  if (!isLoopback(host)) throw new Error(`the web view listens on loopback only, not ${host}`);
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const streams = new Set<http.ServerResponse>();
  let port = 0;
  const cookieName = () => `loopkube_ui_${port}`;

  const authorized = (req: http.IncomingMessage, url: URL): "query" | boolean => {
    const q = url.searchParams.get("token");
    if (q !== null && same(q, token)) return "query";
    const cookies = (req.headers.cookie ?? "").split(";").map((c) => c.trim());
    for (const c of cookies) {
      const eq = c.indexOf("=");
      if (c.slice(0, eq) === cookieName() && same(c.slice(eq + 1), token)) return true;
    }
    const auth = req.headers.authorization ?? "";
    if (auth.startsWith("Bearer ")) {
      const t = auth.slice(7).trim();
      if (same(t, token) || (options.bearerTokens ?? []).some((b) => same(t, b))) return true;
    }
    return false;
  };

  const send = (
    res: http.ServerResponse,
    status: number,
    type: string,
    body: string,
    extra: http.OutgoingHttpHeaders = {},
  ) => {
    res.writeHead(status, {
      "content-type": type,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      "content-security-policy":
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      ...extra,
    });
    res.end(res.req.method === "HEAD" ? undefined : body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown) =>
    send(res, status, "application/json", JSON.stringify(value));

  const stream = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\n\n");
    const write = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > maxBuffered) res.destroy();
    };
    streams.add(res);
    const unsubscribe = feed.subscribe((m) => {
      if ("snapshot" in m) write("snapshot", m.snapshot);
      else write("batch", m.batch);
    });
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(res);
    });
  };

  const server = http.createServer((req, res) => {
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    if (hostHeader !== `${host}:${port}` && hostHeader !== `localhost:${port}`) {
      send(res, 421, "text/plain", "misdirected request\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain", "the web view is read-only\n", { allow: "GET, HEAD" });
      return;
    }
    const url = new URL(req.url ?? "/", `http://${hostHeader}`);
    const auth = authorized(req, url);
    if (!auth) {
      send(
        res,
        401,
        "text/plain",
        "a token is needed: open the URL `loopkube up` or `loopkube ui` printed\n",
      );
      return;
    }
    const cookie: http.OutgoingHttpHeaders =
      auth === "query"
        ? {
            "set-cookie": `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict`,
          }
        : {};
    switch (url.pathname) {
      case "/":
        send(res, 200, "text/html; charset=utf-8", pageHtml(), cookie);
        return;
      case "/app.js":
        pageScript().then(
          (js) => send(res, 200, "text/javascript; charset=utf-8", js),
          (err: unknown) => send(res, 500, "text/plain", `${String(err)}\n`),
        );
        return;
      case "/api/stream":
        stream(req, res);
        return;
      case "/api/dns": {
        const name = url.searchParams.get("name") ?? "";
        const type = url.searchParams.get("type") ?? "A";
        dig(name, type, { server: options.dns }).then(
          (a) => json(res, 200, a),
          (err: unknown) => json(res, 400, { error: (err as Error).message }),
        );
        return;
      }
      case "/api/events": {
        const p = url.searchParams;
        json(
          res,
          200,
          feed.events(p.get("kind") ?? "", p.get("namespace") ?? "", p.get("name") ?? ""),
        );
        return;
      }
      default:
        send(res, 404, "text/plain", "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    port,
    async close() {
      for (const s of streams) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
