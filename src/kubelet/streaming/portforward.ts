/**
 * `pods/portforward` as kubectl 1.31+ speaks it: a WebSocket with subprotocol
 * `SPDY/3.1+portforward.k8s.io` whose binary messages carry a SPDY/3.1 byte stream (see spdy.ts).
 * For each local connection kubectl opens two SPDY streams with headers `streamType`
 * (`error`/`data`), `port` and `requestID`; once both exist the agent connects: for a pod in its
 * own network namespace, to its 127.0.0.1 in that namespace as the kubelet does (then its pod IP,
 * see netns_dial.ts); else to the pod's `<podIP>:<port>` (127.0.0.1 would be the host's loopback,
 * shared by every such pod and by loopkube itself) and copies bytes both ways on the
 * data stream. When the pod side closes, the data stream is finished (FIN); a failure to connect is
 * written on the error stream in the kubelet's words; the error stream is then finished, which is
 * what kubectl waits for. Every SYN_STREAM gets a SYN_REPLY (kubectl waits for it); PINGs are
 * answered; a RST_STREAM or the WebSocket closing drops the pod connections.
 *
 * A plain channel WebSocket (`v4.channel.k8s.io`, the Python client's) is served by
 * `portforward_ws.ts`.
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
import type { ApiVerbs } from "../../api/verbs.ts";
import { refuse, StreamRequestError } from "./exec_protocol.ts";
import { getPod } from "./exec_target.ts";
import { dialInNetns } from "./netns_dial.ts";
import { CHANNEL_PROTOCOL, parsePorts, serveChannelPortForward } from "./portforward_ws.ts";
import { type Carrier, overSocket, overWebSocket, SpdySession } from "./spdy_session.ts";
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
  onError?: (e: unknown) => void;
  /**
   * The pod's own network namespace (its path), when it has one: connections are then made in
   * it, to its 127.0.0.1 as the kubelet's are, else to the pod IP (netns_dial.ts).
   */
  podNetns?(namespace: string, name: string): { path: string; enter: string[] } | undefined;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

interface Pair {
  requestId: string;
  port: number;
  error?: number;
  data?: number;
  socket?: Socket;
  /** Bytes and a half-close from kubectl while the connection is being made in the pod. */
  early?: { chunks: Buffer[]; ended: boolean; reset: boolean } | undefined;
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
  return async (req, socket, head, { namespace, name, query }) => {
    let podIP: string;
    let pod: Pod;
    let overWs = false;
    let channelPorts: number[] | undefined;
    try {
      pod = await getPod(options.client, namespace, name);
      podIP = checkPod(pod, name);
      const offered = offeredProtocols(req);
      overWs = offered.includes(PORT_FORWARD_PROTOCOL);
      if (!overWs && offered.includes(CHANNEL_PROTOCOL)) {
        channelPorts = parsePorts(query);
        if (!channelPorts?.length) {
          throw new StreamRequestError(400, "BadRequest", "at least one port must be specified");
        }
      } else if (!overWs && !wantsSpdy(req)) {
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
    const podLabel = `${name}_${namespace}, uid ${pod.metadata?.uid ?? ""}`;
    if (channelPorts) {
      const ws = await acceptWebSocket(req, socket, head, CHANNEL_PROTOCOL);
      const netns = options.podNetns?.(namespace, name);
      serveChannelPortForward(ws, {
        podIP,
        podLabel,
        ports: channelPorts,
        ...(netns
          ? {
              dial: (port: number) =>
                dialInNetns(netns.enter, port, ["127.0.0.1", podIP]).catch((e: Error) => {
                  const where = `localhost:${port} inside namespace "${netns.path}"`;
                  throw new Error(`failed to connect to ${where}: ${e.message}`);
                }),
            }
          : {}),
      });
      return;
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
    const netns = options.podNetns?.(namespace, name);
    serveTunnel(carrier, {
      podIP,
      podLabel,
      ...(netns ? { netns } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  };
}

function serveTunnel(
  carrier: Carrier,
  o: {
    podIP: string;
    podLabel: string;
    netns?: { path: string; enter: string[] };
    onError?: (e: unknown) => void;
  },
): void {
  const pairs = new Map<string, Pair>();
  const streams = new Map<number, { requestId: string; type: string }>();
  const onError = (e: unknown) => o.onError?.(e);

  const finishError = (p: Pair, message?: string) => {
    if (p.error === undefined || p.errorClosed) return;
    p.errorClosed = true;
    if (message) session.write(p.error, Buffer.from(message));
    session.finish(p.error);
    forgetIfDone(p);
  };
  const finishData = (p: Pair) => {
    if (p.data === undefined || p.dataClosed) return;
    p.dataClosed = true;
    session.finish(p.data);
  };
  // A finished request's streams are forgotten, so a long port-forward does not grow.
  const forgetIfDone = (p: Pair) => {
    if (!p.errorClosed || !p.dataClosed || (p.socket && !p.socket.destroyed)) return;
    pairs.delete(p.requestId);
    if (p.error !== undefined) streams.delete(p.error);
    if (p.data !== undefined) streams.delete(p.data);
  };

  const attach = (p: Pair, s: Socket, connected: boolean) => {
    const dataId = p.data as number;
    p.socket = s;
    s.on("connect", () => {
      connected = true;
    });
    s.on("data", (chunk: Buffer) => session.write(dataId, chunk));
    s.on("end", () => finishData(p));
    s.on("error", (e: NodeJS.ErrnoException) => {
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
    const early = p.early;
    p.early = undefined;
    for (const chunk of early?.chunks ?? []) s.write(chunk);
    if (early?.ended) s.end();
    if (early?.reset) s.destroy();
    s.resume();
  };

  const dial = (p: Pair, host: string) => {
    const netns = o.netns;
    if (!netns) {
      attach(p, connect({ host, port: p.port }), false);
      return;
    }
    // What kubectl sends while the helper connects waits here.
    p.early = { chunks: [], ended: false, reset: false };
    dialInNetns(netns.enter, p.port, ["127.0.0.1", host]).then(
      (s) => attach(p, s, true),
      (e: unknown) => {
        p.early = undefined;
        const why = e instanceof Error ? e.message : String(e);
        finishError(
          p,
          `error forwarding port ${p.port} to pod ${o.podLabel}: failed to connect to localhost:${p.port} inside namespace "${netns.path}": ${why}`,
        );
        finishData(p);
        forgetIfDone(p);
      },
    );
  };

  const pairOf = (id: number) => {
    const s = streams.get(id);
    return s ? { s, p: pairs.get(s.requestId) } : undefined;
  };

  const session = new SpdySession(carrier, {
    stream(id, headers) {
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
    },
    data(id, bytes) {
      const at = pairOf(id);
      if (at?.s.type !== "data") return;
      if (at.p?.early) at.p.early.chunks.push(Buffer.from(bytes));
      else at.p?.socket?.write(bytes);
    },
    halfClose(id) {
      const at = pairOf(id);
      if (at?.s.type !== "data") return;
      if (at.p?.early) at.p.early.ended = true;
      else at.p?.socket?.end();
    },
    reset(id) {
      const at = pairOf(id);
      if (!at?.p) return;
      streams.delete(id);
      if (at.s.type === "data") {
        at.p.dataClosed = true;
        if (at.p.early) at.p.early.reset = true;
        at.p.socket?.destroy();
      } else at.p.errorClosed = true;
      forgetIfDone(at.p);
    },
    closed() {
      for (const p of pairs.values()) p.socket?.destroy();
      pairs.clear();
    },
    error: onError,
  });
}
