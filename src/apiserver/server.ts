/**
 * The HTTPS listener: TLS with the cluster CA, authentication (a client certificate signed by the
 * cluster CA, or a known bearer token), then the request handler. `/healthz`, `/livez`, `/readyz`
 * and `/version` answer without credentials, as kube-apiserver's default RBAC allows; `/metrics`
 * needs them, as there (kube grants the non-resource URL to `system:monitoring`; here every
 * authenticated client is an admin).
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { unauthorized } from "../api/errors.ts";
import { createInFlightGate, type InFlightLimits } from "./http/inflight.ts";
import { sendError } from "./http/respond.ts";
import { writeRawJson } from "./http/upgrade.ts";

const PUBLIC_PATHS = /^\/(healthz|livez|readyz|version)(\/|$|\?)/;

export interface TlsMaterial {
  cert: string;
  key: string;
  /** The CA that signs client certificates. */
  ca: string;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  /** Bearer tokens accepted as authenticated. */
  tokens: () => ReadonlySet<string>;
  /** Max requests in flight (kube's defaults 400 read-only, 200 mutating). */
  maxInFlight?: InFlightLimits;
}

function authenticated(req: IncomingMessage, tokens: ReadonlySet<string>): boolean {
  const socket = req.socket as TLSSocket;
  if (socket.authorized) return true;
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return tokens.has(auth.slice(7).trim());
  return false;
}

export async function listen(
  options: ListenOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>,
): Promise<Server> {
  const gate = createInFlightGate(options.maxInFlight);
  const server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      keepAliveTimeout: 120_000,
    },
    (req, res) => {
      if (!PUBLIC_PATHS.test(req.url ?? "/") && !authenticated(req, options.tokens())) {
        req.resume();
        sendError(res, unauthorized());
        return;
      }
      if (!gate.admit(req, res)) return;
      void handle(req, res);
    },
  );
  if (upgrade) {
    // Streaming subresources (exec, attach, port-forward) arrive as upgrade requests.
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!authenticated(req, options.tokens())) {
        const err = unauthorized().toStatus();
        writeRawJson(socket, 401, err);
        return;
      }
      void upgrade(req, socket, head);
    });
  }
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // watches and log streams stay open.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
