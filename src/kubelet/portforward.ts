/**
 * `pods/portforward` as kubectl 1.31+ speaks it: a WebSocket with subprotocol
 * `SPDY/3.1+portforward.k8s.io` whose binary messages carry a SPDY/3.1 byte stream (see spdy.ts).
 * For each local connection kubectl opens two SPDY streams with headers `streamType`
 * (`error`/`data`), `port` and `requestID`; once both exist the agent connects to the pod's
 * `<podIP>:<port>` (then, if that is refused, to 127.0.0.1: a program that listens on localhost
 * only, which in a pod would be the pod's own loopback) and copies bytes both ways on the data
 * stream. When the pod side closes, the data stream is finished (FIN); a failure to connect is
 * written on the error stream in the kubelet's words; the error stream is then finished, which is
 * what kubectl waits for. Every SYN_STREAM gets a SYN_REPLY (kubectl waits for it); PINGs are
 * answered; a RST_STREAM or the WebSocket closing drops the pod connections.
 *
 * The plain SPDY/3.1 upgrade (kubectl before 1.31, or with port-forward WebSockets turned off)
 * carries the same SPDY stream on the raw upgraded connection. Flow control: window updates are
 * ignored and none are sent, as Kubernetes' SPDY library does.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { WebSocket } from "ws";
import type { ApiVerbs } from "../api/verbs.ts";
import { refuse, StreamRequestError } from "./exec_protocol.ts";
import { getPod } from "./exec_target.ts";
import {
  dataFrame,
  type Frame,
  FrameReader,
  HeaderCodec,
  pingFrame,
  SPDY,
  streamIdOf,
  synReplyFrame,
  synStreamHeaders,
} from "./spdy.ts";
import { acceptWebSocket, offeredProtocols } from "./websocket.ts";

export const PORT_FORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
const SPDY_PROTOCOL = "portforward.k8s.io";

/** A plain SPDY upgrade (kubectl before 1.31) offering the port-forward protocol. */
function wantsSpdy(req: IncomingMessage): boolean {
  const raw = req.headers["x-stream-protocol-version"];
  const offered = (Array.isArray(raw) ? raw.join(",") : (raw ?? ""))
    .split(",")
    .map((p) => p.trim());
  return (
    (req.headers.upgrade ?? "").toLowerCase() === "spdy/3.1" && offered.includes(SPDY_PROTOCOL)
  );
}

export interface PortForwardHandlerOptions {
  client: ApiVerbs;
  /** Where pod-side connections go when the pod IP refuses; default 127.0.0.1. */
  loopback?: string;
  onError?: (e: unknown) => void;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

interface Pair {
  requestId: string;
  port: number;
  error?: number;
  data?: number;
  socket?: Socket;
  errorClosed?: boolean;
  dataClosed?: boolean;
}

/** Checks the pod before upgrading, as kube-apiserver and the kubelet do. */
function checkPod(pod: Pod, name: string): string {
  if (!pod.spec?.nodeName) {
    throw new StreamRequestError(400, "BadRequest", `pod ${name} does not have a host assigned`);
  }
  const ip = pod.status?.podIP;
  if (pod.status?.phase !== "Running" || !ip) {
    throw new StreamRequestError(
      400,
      "BadRequest",
      `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? "Pending"}`,
    );
  }
  return ip;
}

export function createPortForwardHandler(
  options: PortForwardHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) => Promise<void> {
  const loopback = options.loopback ?? "127.0.0.1";
  return async (req, socket, head, { namespace, name }) => {
    let podIP: string;
    let pod: Pod;
    let overWs = false;
    try {
      pod = await getPod(options.client, namespace, name);
      podIP = checkPod(pod, name);
      overWs = offeredProtocols(req).includes(PORT_FORWARD_PROTOCOL);
      if (!overWs && !wantsSpdy(req)) {
        throw new StreamRequestError(
          400,
          "BadRequest",
          `unable to upgrade: port-forward is served over WebSocket (subprotocol ${PORT_FORWARD_PROTOCOL}) or SPDY/3.1 (protocol ${SPDY_PROTOCOL})`,
        );
      }
    } catch (e) {
      if (e instanceof StreamRequestError) return refuse(socket, e);
      throw e;
    }
    let carrier: Carrier;
    if (overWs) {
      carrier = overWebSocket(await acceptWebSocket(req, socket, head, PORT_FORWARD_PROTOCOL));
    } else {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
          `X-Stream-Protocol-Version: ${SPDY_PROTOCOL}\r\n\r\n`,
      );
      carrier = overSocket(socket, head);
    }
    serveTunnel(carrier, {
      podIP,
      loopback,
      podLabel: `${name}_${namespace}, uid ${pod.metadata?.uid ?? ""}`,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  };
}

/** A byte pipe carrying the SPDY stream: WebSocket binary messages, or the raw upgraded socket. */
interface Carrier {
  send(bytes: Buffer): void;
  close(): void;
  on(handlers: { data(bytes: Buffer): void; error(e: unknown): void; close(): void }): void;
}

function overWebSocket(ws: WebSocket): Carrier {
  return {
    send: (b) => ws.send(b),
    close: () => ws.close(1000),
    on(h) {
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) h.data(data);
      });
      ws.on("error", h.error);
      ws.on("close", h.close);
    },
  };
}

function overSocket(socket: Duplex, head: Buffer): Carrier {
  return {
    send: (b) => {
      if (socket.writable) socket.write(b);
    },
    close: () => socket.end(),
    on(h) {
      if (head.length) queueMicrotask(() => h.data(head));
      socket.on("data", h.data);
      socket.on("error", h.error);
      socket.on("close", h.close);
    },
  };
}

function serveTunnel(
  ws: Carrier,
  o: { podIP: string; loopback: string; podLabel: string; onError?: (e: unknown) => void },
): void {
  const reader = new FrameReader();
  const codec = new HeaderCodec();
  const pairs = new Map<string, Pair>();
  const streams = new Map<number, { requestId: string; type: string }>();
  let open = true;
  // Outgoing frames keep their order (a SYN_REPLY waits for its compressed headers).
  let out: Promise<void> = Promise.resolve();
  const send = (frame: Buffer | Promise<Buffer>) => {
    out = out
      .then(async () => {
        const bytes = await frame;
        if (open) ws.send(bytes);
      })
      .catch((e) => o.onError?.(e));
  };
  let incoming: Promise<void> = Promise.resolve();

  const finishError = (p: Pair, message?: string) => {
    if (p.error === undefined || p.errorClosed) return;
    p.errorClosed = true;
    if (message) send(dataFrame(p.error, Buffer.from(message)));
    send(dataFrame(p.error, Buffer.alloc(0), true));
    forgetIfDone(p);
  };
  // A finished request's streams are forgotten, so a long port-forward does not grow.
  const forgetIfDone = (p: Pair) => {
    if (!p.errorClosed || !p.dataClosed || (p.socket && !p.socket.destroyed)) return;
    pairs.delete(p.requestId);
    if (p.error !== undefined) streams.delete(p.error);
    if (p.data !== undefined) streams.delete(p.data);
  };
  const finishData = (p: Pair) => {
    if (p.data === undefined || p.dataClosed) return;
    p.dataClosed = true;
    send(dataFrame(p.data, Buffer.alloc(0), true));
  };

  const dial = (p: Pair, host: string) => {
    const dataId = p.data as number;
    const s = connect({ host, port: p.port });
    p.socket = s;
    let connected = false;
    s.on("connect", () => {
      connected = true;
    });
    s.on("data", (chunk: Buffer) => send(dataFrame(dataId, chunk)));
    s.on("end", () => finishData(p));
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (!connected && e.code === "ECONNREFUSED" && host !== o.loopback) {
        dial(p, o.loopback);
        return;
      }
      const what = connected ? e.message : `dial tcp ${o.podIP}:${p.port}: connect: ${e.message}`;
      finishError(p, `error forwarding port ${p.port} to pod ${o.podLabel}: ${what}`);
      finishData(p);
    });
    s.on("close", () => {
      if (p.socket !== s) return;
      finishData(p);
      finishError(p);
      forgetIfDone(p);
    });
  };

  const onSynStream = async (data: Buffer) => {
    const id = streamIdOf(data);
    const headers = await codec.decode(synStreamHeaders(data));
    send(codec.encode({}).then((h) => synReplyFrame(id, h)));
    const type = headers.streamtype ?? "";
    const requestId = headers.requestid ?? "";
    const port = Number(headers.port);
    streams.set(id, { requestId, type });
    let p = pairs.get(requestId);
    if (!p) {
      p = { requestId, port };
      pairs.set(requestId, p);
    }
    if (type === "error") p.error = id;
    else if (type === "data") p.data = id;
    if (p.error === undefined || p.data === undefined || p.socket) return;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      finishError(p, `invalid port: ${headers.port ?? ""}`);
      finishData(p);
      return;
    }
    dial(p, o.podIP);
  };

  const onFrame = async (f: Frame) => {
    if (!f.control) {
      const s = streams.get(f.streamId);
      const p = s && pairs.get(s.requestId);
      if (!s || !p || s.type !== "data") return;
      if (f.data.length) p.socket?.write(f.data);
      if (f.flags & SPDY.flagFin) p.socket?.end();
      return;
    }
    switch (f.type) {
      case SPDY.synStream:
        await onSynStream(f.data);
        return;
      case SPDY.rstStream: {
        const s = streams.get(streamIdOf(f.data));
        const p = s && pairs.get(s.requestId);
        if (!s || !p) return;
        streams.delete(streamIdOf(f.data));
        if (s.type === "data") {
          p.dataClosed = true;
          p.socket?.destroy();
        } else p.errorClosed = true;
        forgetIfDone(p);
        return;
      }
      case SPDY.ping:
        send(pingFrame(f.data.readUInt32BE(0)));
        return;
      case SPDY.goaway:
        ws.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do.
        return;
    }
  };

  ws.on({
    data(bytes) {
      for (const f of reader.push(bytes)) {
        incoming = incoming.then(() => onFrame(f)).catch((e) => o.onError?.(e));
      }
    },
    error: (e) => o.onError?.(e),
    close() {
      open = false;
      for (const p of pairs.values()) p.socket?.destroy();
      pairs.clear();
      codec.close();
    },
  });
}
