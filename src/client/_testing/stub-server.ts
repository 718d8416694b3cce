/**
 * A tiny HTTP(S) server for client tests: records every request (method, URL, headers, body)
 * and answers through a handler the test swaps at will. Listens on 127.0.0.1, a free port.
 *
 * @module
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type StubHandler = (req: Recorded, res: http.ServerResponse) => void;

export interface Stub {
  url: string;
  requests: Recorded[];
  /** Sockets accepted so far (to observe keep-alive). */
  connections(): number;
  handle(handler: StubHandler): void;
  close(): Promise<void>;
}

export function json(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startStub(tls?: https.ServerOptions): Promise<Stub> {
  let handler: StubHandler = (_req, res) => json(res, 200, {});
  const requests: Recorded[] = [];
  let connections = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rec: Recorded = {
        method: req.method ?? "",
        url: new URL(req.url ?? "/", "http://stub"),
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(rec);
      handler(rec, res);
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.on(tls ? "secureConnection" : "connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    handle(h) {
      handler = h;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
