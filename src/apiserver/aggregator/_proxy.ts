/**
 * The aggregation proxy: a request for an aggregated group-version goes, path and query
 * unchanged, over HTTPS to one address of the APIService's Service, as kube-aggregator proxies
 * it: the backend's certificate verified against `caBundle` for `<service>.<namespace>.svc`
 * (not at all with `insecureSkipTLSVerify`), the API server authenticating itself with its
 * front-proxy client certificate, the already authenticated and authorized user passed in
 * `X-Remote-User`, `X-Remote-Group` and `X-Remote-Extra-<key>` (the client's own credentials,
 * impersonation and `X-Remote-*` headers never reach the backend). Responses stream through
 * (watches), and upgrade requests (exec, port-forward of an aggregated server) are spliced.
 * A backend that cannot be reached is kube's 503.
 *
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent, request } from "node:https";
import type { Duplex } from "node:stream";
import type { UserInfo } from "../authn.ts";

export interface Backend {
  address: { host: string; port: number };
  /** `<service>.<namespace>.svc`: the TLS server name and the Host header. */
  serverName: string;
  /** PEM of the CA that signs the backend's certificate (none: the system's roots). */
  ca?: string;
  insecure: boolean;
}

/** The API server's front-proxy client certificate. */
export interface ClientCert {
  cert: string;
  key: string;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** The headers sent to the backend: the client's, minus credentials, plus the user's. */
export function proxiedHeaders(
  incoming: IncomingMessage["headers"],
  user: UserInfo,
  host: string,
  upgrade: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (value === undefined) continue;
    if (lower === "authorization" || lower.startsWith("impersonate-")) continue;
    if (lower.startsWith("x-remote-")) continue;
    if (!upgrade && HOP_BY_HOP.has(lower)) continue;
    if (upgrade && (lower === "host" || lower === "proxy-authorization")) continue;
    out[lower] = value;
  }
  out.host = host;
  out["x-remote-user"] = user.name;
  if (user.groups.length > 0) out["x-remote-group"] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {})) {
    out[`x-remote-extra-${encodeURIComponent(key)}`] = [...values];
  }
  return out;
}

export class BackendDialer {
  private readonly agents = new Map<string, Agent>();
  private readonly clientCert: ClientCert | undefined;

  constructor(clientCert: ClientCert | undefined) {
    this.clientCert = clientCert;
  }

  /** The TLS options of a backend (shared by the proxy and the discovery probe). */
  tls(backend: Backend) {
    return {
      servername: backend.serverName,
      rejectUnauthorized: !backend.insecure,
      ...(backend.ca && !backend.insecure ? { ca: backend.ca } : {}),
      ...(this.clientCert ? { cert: this.clientCert.cert, key: this.clientCert.key } : {}),
    };
  }

  agent(backend: Backend): Agent {
    const key = `${backend.address.host}:${backend.address.port}|${backend.serverName}|${backend.insecure}|${backend.ca ?? ""}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: 64, ...this.tls(backend) });
      this.agents.set(key, agent);
    }
    return agent;
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** Proxies one HTTP request; `onError` answers when the backend cannot be reached. */
export function proxyRequest(
  dialer: BackendDialer,
  backend: Backend,
  user: UserInfo,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (err: NodeJS.ErrnoException) => void,
): void {
  const out = request(
    {
      host: backend.address.host,
      port: backend.address.port,
      method: req.method ?? "GET",
      path: req.url ?? "/",
      agent: dialer.agent(backend),
      ...dialer.tls(backend),
      headers: proxiedHeaders(req.headers, user, backend.serverName, false),
    },
    (answer) => {
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      // A stream (a watch: no length) shows its headers at once; a sized answer goes in one write.
      if (answer.headers["content-length"] === undefined) res.flushHeaders();
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    },
  );
  let answered = false;
  out.on("response", () => {
    answered = true;
  });
  out.on("error", (err: NodeJS.ErrnoException) => {
    if (answered || res.headersSent) res.destroy();
    else onError(err);
  });
  // A client that goes away (a watch ended) ends the backend's request too.
  res.on("close", () => out.destroy());
  req.pipe(out);
}

/** Splices an upgrade request (WebSocket, SPDY) to the backend. */
export function proxyUpgrade(
  dialer: BackendDialer,
  backend: Backend,
  user: UserInfo,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onError: (err: NodeJS.ErrnoException) => void,
): void {
  const out = request({
    host: backend.address.host,
    port: backend.address.port,
    method: req.method ?? "GET",
    path: req.url ?? "/",
    ...dialer.tls(backend),
    headers: proxiedHeaders(req.headers, user, backend.serverName, true),
  });
  out.on("upgrade", (answer, upstream, upstreamHead) => {
    const lines = [`HTTP/1.1 ${answer.statusCode ?? 101} ${answer.statusMessage ?? ""}`];
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
    }
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
  });
  out.on("response", (answer) => {
    // The backend refused to upgrade: its answer goes back as it is.
    const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ""}`];
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      const name = answer.rawHeaders[i] ?? "";
      const lower = name.toLowerCase();
      if (lower === "transfer-encoding" || lower === "content-length" || lower === "connection")
        continue;
      lines.push(`${name}: ${answer.rawHeaders[i + 1]}`);
    }
    const chunks: Buffer[] = [];
    answer.on("data", (c: Buffer) => chunks.push(c));
    answer.on("end", () => {
      const body = Buffer.concat(chunks);
      lines.push(`content-length: ${body.length}`, "connection: close");
      socket.end(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), body]));
    });
  });
  out.on("error", (err: NodeJS.ErrnoException) => onError(err));
  out.end();
}
