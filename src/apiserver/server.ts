/**
 * The HTTPS listener: TLS with the cluster CA, authentication (`authn.ts`: a client certificate
 * signed by the cluster CA, or a bearer token some authenticator accepts; anything else is 401),
 * then authorization (`authorize`, RBAC: impersonation and kube's 403), then the request handler.
 * With RBAC a request without credentials is `system:anonymous`, and the bootstrap policy lets it
 * reach `/healthz`, `/livez`, `/readyz` and `/version` only; without an authorizer those paths
 * answer without credentials and every authenticated client may do everything.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Duplex } from "node:stream";
import { StatusError, unauthorized } from "../api/errors.ts";
import { type Authenticate, setRequestUser, type UserInfo } from "./authn.ts";
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
  /**
   * Authorization after authentication (RBAC): the user the request acts as (after
   * impersonation), or the error that refuses it. Without it every authenticated user may do
   * everything, and health and version answer without credentials.
   */
  authorize?: (req: IncomingMessage, user: UserInfo, upgrade: boolean) => UserInfo | StatusError;
  /** Max requests in flight (kube's defaults 400 read-only, 200 mutating). */
  maxInFlight?: InFlightLimits;
}

/** Who the request acts as, or the error (401, 403, 400) that refuses it. */
function admit(
  req: IncomingMessage,
  options: ListenOptions,
  upgrade: boolean,
): StatusError | undefined {
  const user = options.authenticate(req);
  if (!user) return unauthorized();
  const acting = options.authorize ? options.authorize(req, user, upgrade) : user;
  if (acting instanceof StatusError) return acting;
  setRequestUser(req, acting);
  return undefined;
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
      const publicPath = !options.authorize && PUBLIC_PATHS.test(req.url ?? "/");
      const refused = publicPath ? undefined : admit(req, options, false);
      if (refused) {
        req.resume();
        sendError(res, refused);
        return;
      }
      if (!gate.admit(req, res)) return;
      void handle(req, res);
    },
  );
  if (upgrade) {
    // Streaming subresources (exec, attach, port-forward) arrive as upgrade requests.
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refused = admit(req, options, true);
      if (refused) {
        writeRawJson(socket, refused.code, refused.toStatus());
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
