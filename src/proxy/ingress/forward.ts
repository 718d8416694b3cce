/**
 * Forwarding one HTTP/1.1 request (or one Upgrade, such as a WebSocket) from the ingress
 * listener to a backend endpoint, as a reverse proxy does.
 *
 * Contract:
 * - Hop-by-hop headers (Connection and what it names, Keep-Alive, Proxy-Connection, TE, Trailer,
 *   Transfer-Encoding, Upgrade, Expect) are not forwarded; the rest keep their order, case and
 *   repetitions. `Host` is passed through. `X-Forwarded-For`, `-Host`, `-Port`, `-Proto` and
 *   `X-Real-IP` are replaced by the controller's own (a client's are not trusted, as neither
 *   ingress-nginx nor Traefik trusts them by default).
 * - Endpoints come from `pick`; a request without a body whose connection is refused (or whose
 *   reused keep-alive connection was closed under it) is tried on the next endpoint, each at most
 *   once, as nginx's `proxy_next_upstream error` does. A request with a body is never retried.
 * - Errors before the response: 502 (connection failed), 504 (connect timeout), 503 when `pick`
 *   has no endpoint. After the response started, the client connection is closed.
 * - Upgrades: the request head is written to a new backend connection and the two sockets are
 *   joined; the backend's answer (101 or not) reaches the client byte for byte.
 *
 * @module
 */
import type { Agent, IncomingMessage, ServerResponse } from "node:http";
import { request } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { EndpointDialer } from "../tcp.ts";

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ForwardOptions {
  scheme: "http" | "https";
  /** The port the client connected to (X-Forwarded-Port). */
  localPort: number;
  /** The next endpoint, skipping those in `avoid` while another is usable. */
  pick(avoid: ReadonlySet<string>): Endpoint | undefined;
  agent: Agent;
  connectTimeoutMs: number;
  log?: ((message: string) => void) | undefined;
  /** How Upgrade requests reach endpoints the host cannot connect to directly (rootless). */
  dial?: EndpointDialer | undefined;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
]);
const FORWARDED = new Set([
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-proto",
  "x-real-ip",
]);

/** Header names the Connection header lists (they are hop-by-hop too). */
function connectionTokens(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== "connection") continue;
    for (const t of (raw[i + 1] as string).split(",")) out.add(t.trim().toLowerCase());
  }
  return out;
}

/** The client address as the backend should see it (IPv4-mapped IPv6 unwrapped). */
function clientAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/** The request headers for the backend, as a flat raw list; `upgrade` keeps Connection/Upgrade. */
export function backendHeaders(
  req: IncomingMessage,
  options: { scheme: string; localPort: number; upgrade: boolean },
): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(raw);
  const out: string[] = [];
  let host = "";
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower === "host") host = raw[i + 1] as string;
    if (FORWARDED.has(lower)) continue;
    const keep = options.upgrade && (lower === "connection" || lower === "upgrade");
    if (!keep && (HOP_BY_HOP.has(lower) || named.has(lower))) continue;
    out.push(name, raw[i + 1] as string);
  }
  const client = clientAddress(req);
  out.push(
    "X-Forwarded-For",
    client,
    "X-Forwarded-Host",
    host,
    "X-Forwarded-Port",
    String(options.localPort),
    "X-Forwarded-Proto",
    options.scheme,
    "X-Real-IP",
    client,
  );
  return out;
}

/** The backend's response headers for the client, hop-by-hop ones dropped. */
function clientHeaders(raw: readonly string[]): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

export function sendError(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (
    req.headers["transfer-encoding"] !== undefined ||
    (length !== undefined && length !== "0" && length !== "")
  );
}

/** Errors that mean the request never reached a backend program, so another may take it. */
function retriable(err: NodeJS.ErrnoException, reused: boolean): boolean {
  return err.code === "ECONNREFUSED" || (reused && err.code === "ECONNRESET");
}

export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ForwardOptions,
): void {
  const headers = backendHeaders(req, { ...options, upgrade: false });
  const canRetry = !hasBody(req);
  const tried = new Set<string>();
  let finished = false;
  const attempt = (): void => {
    const endpoint = options.pick(tried);
    if (endpoint === undefined || tried.has(`${endpoint.ip}:${endpoint.port}`)) {
      sendError(
        res,
        tried.size === 0 ? 503 : 502,
        tried.size === 0 ? "no available server\n" : "Bad Gateway\n",
      );
      return;
    }
    tried.add(`${endpoint.ip}:${endpoint.port}`);
    const upstream = request({
      host: endpoint.ip,
      port: endpoint.port,
      method: req.method,
      path: req.url,
      headers,
      agent: options.agent,
      setHost: false,
    });
    let timer: NodeJS.Timeout | undefined;
    upstream.on("socket", (socket) => {
      if (!socket.connecting) return;
      timer = setTimeout(() => {
        const err = Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" });
        upstream.destroy(err);
      }, options.connectTimeoutMs);
      socket.once("connect", () => clearTimeout(timer));
    });
    upstream.on("response", (answer) => {
      clearTimeout(timer);
      res.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        clientHeaders(answer.rawHeaders),
      );
      answer.pipe(res);
      answer.on("error", () => res.destroy());
      answer.on("aborted", () => res.destroy());
      answer.on("end", () => {
        finished = true;
      });
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (finished || res.destroyed) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (canRetry && retriable(err, upstream.reusedSocket)) {
        options.log?.(
          `ingress: ${endpoint.ip}:${endpoint.port}: ${err.code}, trying the next endpoint`,
        );
        attempt();
        return;
      }
      options.log?.(`ingress: ${endpoint.ip}:${endpoint.port}: ${err.message}`);
      sendError(
        res,
        err.code === "ETIMEDOUT" ? 504 : 502,
        err.code === "ETIMEDOUT" ? "Gateway Timeout\n" : "Bad Gateway\n",
      );
    });
    if (canRetry) upstream.end();
    else req.pipe(upstream);
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };
  attempt();
}

function writeRawError(socket: Duplex, status: number, reason: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Joins an Upgrade request's client socket to a backend connection. Returns a closer. */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: ForwardOptions,
): () => void {
  const endpoint = options.pick(new Set());
  if (endpoint === undefined) {
    writeRawError(socket, 503, "Service Unavailable", "no available server\n");
    return () => socket.destroy();
  }
  const headers = backendHeaders(req, { ...options, upgrade: true });
  let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
  let upstream: net.Socket | undefined;
  let connected = false;
  let over = false;
  const failed = (err: Error) => {
    clearTimeout(timer);
    options.log?.(`ingress: upgrade to ${endpoint.ip}:${endpoint.port}: ${err.message}`);
    if (!connected) writeRawError(socket, 502, "Bad Gateway", "Bad Gateway\n");
    else socket.destroy();
  };
  const timer = setTimeout(() => {
    const err = new Error("connect timeout");
    if (upstream) return upstream.destroy(err);
    over = true; // a socket dialled later is dropped
    failed(err);
  }, options.connectTimeoutMs);
  const join = (up: net.Socket) => {
    connected = true;
    clearTimeout(timer);
    up.write(`${lines}\r\n`);
    if (head.length > 0) up.write(head);
    socket.pipe(up);
    up.pipe(socket);
  };
  const use = (up: net.Socket) => {
    upstream = up;
    if (over) up.destroy();
    up.on("error", failed);
    up.on("close", () => {
      if (connected) socket.destroy();
    });
  };
  socket.on("error", () => upstream?.destroy());
  socket.on("close", () => {
    over = true;
    upstream?.destroy();
  });
  const dialling = options.dial?.(endpoint.ip, endpoint.port);
  if (dialling) {
    dialling.then(
      (up) => {
        if (over) return up.destroy(); // the client left or the timeout fired
        use(up);
        join(up);
      },
      (err: Error) => {
        if (!over) failed(err);
      },
    );
  } else {
    const up = net.connect({ host: endpoint.ip, port: endpoint.port });
    use(up);
    up.once("connect", () => join(up));
  }
  return () => {
    over = true;
    upstream?.destroy();
    socket.destroy();
  };
}
