/**
 * Completing a WebSocket upgrade for the streaming subresources with a subprotocol chosen by the
 * caller beforehand (so that a request we cannot serve is refused with a proper `Status` before
 * the handshake, never upgraded into silence). Binary messages only; no compression.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";

/** The subprotocols the client offers (`Sec-WebSocket-Protocol`), in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") return [];
  const raw = req.headers["sec-websocket-protocol"];
  const text = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
  return text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error("the client went away during the WebSocket handshake"));
    socket.once("close", onClose);
    // ws refuses subprotocols that are not HTTP tokens, and port-forward's
    // `SPDY/3.1+portforward.k8s.io` is not one: the choice is made by the caller, so ws does not
    // see the offer and the answer header is added as the handshake is written.
    delete req.headers["sec-websocket-protocol"];
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    wss.once("headers", (headers) => {
      headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off("close", onClose);
      ws.binaryType = "nodebuffer";
      resolve(ws);
    });
  });
}
