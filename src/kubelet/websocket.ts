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
    // ws reads the subprotocol from its server's options: one light server per connection.
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: () => protocol,
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off("close", onClose);
      ws.binaryType = "nodebuffer";
      resolve(ws);
    });
  });
}
