/**
 * Connection upgrades (`Upgrade: websocket`, `Upgrade: SPDY/3.1`) for streaming subresources such
 * as `pods/exec`, `pods/attach` and `pods/portforward`. Node hands an upgrade request to the
 * server's `upgrade` event with the raw socket instead of a response; this module routes it to the
 * handler registered for `<resource>/<subresource>` (the node agent's) and answers everything else
 * with a Kubernetes `Status` written straight onto the socket, then closes it.
 *
 * Invariant: every socket given to `handle` is either passed to exactly one handler or answered
 * and destroyed here, so no upgrade request is left hanging.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { badRequest } from "../../api/errors.ts";
import type { Registry } from "../registry/index.ts";
import { resourceNotServed } from "../registry/index.ts";
import { toStatusError } from "./respond.ts";
import { route } from "./route.ts";

/** A handler for an upgraded streaming subresource; it owns the socket from then on. */
export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: { namespace: string; name: string; query: URLSearchParams },
) => void | Promise<void>;

/** Writes a plain HTTP response carrying a JSON body onto a not-yet-upgraded socket, and ends it. */
export function writeRawJson(socket: Duplex, code: number, body: object): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ""}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      "Connection: close\r\n\r\n" +
      text,
  );
}

export function createUpgradeHandler(options: {
  registry: Registry;
  /** Keyed `<resource>/<subresource>`, e.g. `pods/exec`. */
  upgrades: Map<string, UpgradeHandler>;
}): (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> {
  return async (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const r = route(url.pathname);
      if (r.type !== "resource" || !r.name || !r.subresource) {
        throw badRequest(`unable to upgrade: ${url.pathname} is not a streaming subresource`);
      }
      const handler = options.upgrades.get(`${r.resource}/${r.subresource}`);
      if (!handler) throw resourceNotServed();
      options.registry.resolve({
        group: r.group,
        version: r.version,
        resource: r.resource,
        subresource: r.subresource,
      });
      await handler(req, socket, head, {
        namespace: r.namespace,
        name: r.name,
        query: url.searchParams,
      });
    } catch (e) {
      const err = toStatusError(e);
      if (socket.writable) writeRawJson(socket, err.code, err.toStatus());
      else socket.destroy();
    }
  };
}
