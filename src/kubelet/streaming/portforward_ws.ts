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
  o: {
    podIP: string;
    podLabel: string;
    ports: number[];
    /** Connects inside the pod's own network namespace (netns_dial.ts), where it has one. */
    dial?: (port: number) => Promise<Socket>;
  },
): void {
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  let open = o.ports.length;
  let closed = false;
  const closeOne = () => {
    if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  // Bytes from the client wait in `early` while the connection is made in the pod's namespace.
  const conns = o.ports.map((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(2 * i, portBytes);
    send(2 * i + 1, portBytes);
    const fail = (what: string) =>
      send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${o.podLabel}: ${what}`));
    const c: { socket?: Socket; early: Buffer[] } = { early: [] };
    const attach = (s: Socket, connected: boolean) => {
      c.socket = s;
      s.on("connect", () => {
        connected = true;
      });
      s.on("data", (chunk: Buffer) => send(2 * i, chunk));
      s.on("error", (e) =>
        fail(connected ? e.message : `dial tcp ${o.podIP}:${port}: connect: ${e.message}`),
      );
      s.on("close", closeOne);
      for (const chunk of c.early) s.write(chunk);
      c.early = [];
      if (closed) s.destroy();
    };
    if (!o.dial) attach(connect({ host: o.podIP, port }), false);
    else {
      o.dial(port).then(
        (s) => attach(s, true),
        (e: unknown) => {
          fail(e instanceof Error ? e.message : String(e));
          closeOne();
        },
      );
    }
    return c;
  });
  ws.on("message", (message: Buffer) => {
    const channel = message[0];
    if (channel === undefined || channel % 2 !== 0) return;
    const c = conns[channel / 2];
    if (c?.socket) c.socket.write(message.subarray(1));
    else c?.early.push(message.subarray(1));
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    closed = true;
    for (const c of conns) c.socket?.destroy();
  });
}
