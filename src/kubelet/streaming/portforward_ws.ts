/**
 * `pods/portforward` over a plain channel WebSocket (`v4.channel.k8s.io`), as the kubelet serves
 * it to clients other than kubectl — the official Python client's `portforward()` among them.
 * Each requested port (`?ports=7000`) gets two channels, data `2i` and error `2i+1`; the first
 * message on each carries the port as two little-endian bytes. Bytes from the pod go out on the
 * data channel and bytes from the client (text or binary messages alike) go to the pod; a failure
 * is written on the error channel in the kubelet's words. One pod connection per port for the
 * life of the WebSocket, which closes once every port's connection has ended.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import type { WebSocket } from "ws";

export const CHANNEL_PROTOCOL = "v4.channel.k8s.io";

/** The ports of `?ports=` (repeated, or comma-separated); undefined when one is not a port. */
export function parsePorts(query: URLSearchParams): number[] | undefined {
  const ports = query
    .getAll("ports")
    .flatMap((v) => v.split(","))
    .map((p) => p.trim())
    .filter(Boolean)
    .map(Number);
  return ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) ? ports : undefined;
}

export function serveChannelPortForward(
  ws: WebSocket,
  o: { podIP: string; podLabel: string; ports: number[] },
): void {
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  let open = o.ports.length;
  const sockets: Socket[] = o.ports.map((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(2 * i, portBytes);
    send(2 * i + 1, portBytes);
    const s = connect({ host: o.podIP, port });
    let connected = false;
    s.on("connect", () => {
      connected = true;
    });
    s.on("data", (chunk: Buffer) => send(2 * i, chunk));
    s.on("error", (e) => {
      const what = connected ? e.message : `dial tcp ${o.podIP}:${port}: connect: ${e.message}`;
      send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${o.podLabel}: ${what}`));
    });
    s.on("close", () => {
      if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    });
    return s;
  });
  ws.on("message", (message: Buffer) => {
    const channel = message[0];
    if (channel === undefined || channel % 2 !== 0) return;
    sockets[channel / 2]?.write(message.subarray(1));
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    for (const s of sockets) s.destroy();
  });
}
