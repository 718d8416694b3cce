/**
 * Raw HTTPS requests to a test API server, as any client could send them: the status, the
 * headers (for `Warning` and `Retry-After`) and the body, parsed when it is JSON.
 *
 * @module
 */
import type { IncomingHttpHeaders } from "node:http";
import { type Agent, request } from "node:https";
import type { TestApiServer } from "./_apiserver.ts";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown> | undefined;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Without the admin client certificate. */
  anonymous?: boolean;
  agent?: Agent;
}

export function send(
  api: TestApiServer,
  method: string,
  path: string,
  body?: string | Buffer,
  options: SendOptions = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, api.server.url);
    const req = request(
      url,
      {
        method,
        ca: api.pki.caCert,
        ...(options.anonymous ? {} : { cert: api.pki.adminCert, key: api.pki.adminKey }),
        ...(options.agent ? { agent: options.agent } : {}),
        headers: {
          // A length, not chunks: Node's client sends a DELETE's body unframed otherwise.
          ...(body !== undefined
            ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** The `Warning` headers of a reply, as kubectl prints them (`unknown field "spec.foo"`). */
export function warnings(reply: Reply): string[] {
  const raw = reply.headers["warning"];
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return all.flatMap((h) =>
    [...h.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1")),
  );
}
