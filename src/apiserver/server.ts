/**
 * The HTTPS listener: TLS with the cluster CA, authentication (`authn.ts`: a client certificate
 * signed by the cluster CA, or a bearer token some authenticator accepts; anything else is 401),
 * then the request handler. `/healthz`, `/livez`, `/readyz`
 * and `/version` answer without credentials, as kube-apiserver's default RBAC allows; `/metrics`
 * needs them, as there (kube grants the non-resource URL to `system:monitoring`; here every
 * authenticated client is an admin).
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Duplex } from "node:stream";
import { unauthorized } from "../api/errors.ts";
import { type Authenticate, setRequestUser } from "./authn.ts";
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
  /** Who sent a request; undefined refuses it with 401. */
  authenticate: Authenticate;
  /** Max requests in flight (kube's defaults 400 read-only, 200 mutating). */
  maxInFlight?: InFlightLimits;
}

function authenticated(req: IncomingMessage, authenticate: Authenticate): boolean {
  const user = authenticate(req);
  if (user) setRequestUser(req, user);
  return user !== undefined;
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
      // kube-apiserver takes a request line and headers up to Go's http.DefaultMaxHeaderBytes
      // (1 MiB); Node's default (16 KiB) refused the URL of an object whose name, a valid path
      // segment of any length for many kinds, is longer, and Node 24 resets the connection.
      maxHeaderSize: 1 << 20,
    },
    (req, res) => {
      if (!PUBLIC_PATHS.test(req.url ?? "/") && !authenticated(req, options.authenticate)) {
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
      if (!authenticated(req, options.authenticate)) {
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
