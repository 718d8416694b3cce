/**
 * A UDP frontend: one socket on the service address; each client address:port is a flow with
 * its own socket connected to the endpoint chosen for its first datagram.
 *
 * Contract:
 * - Replies from the endpoint are sent from the frontend socket, so the client sees them come
 *   from the Service address it wrote to.
 * - A flow ends after `idleTimeoutMs` without a datagram either way, when its endpoint is
 *   deleted (as kube-proxy clears UDP conntrack entries), or when `maxFlows` is reached and it
 *   is the oldest. Datagrams arriving before the flow's socket is ready are queued, not lost.
 * - No endpoint: the datagram is dropped (kube-proxy answers ICMP port unreachable, which an
 *   unprivileged process cannot send).
 *
 * @module
 */
import dgram from "node:dgram";
import { BindError, isLocalBindError, sourceAddressFor } from "./_listen.ts";
import type { EndpointInfo } from "./state.ts";
import type { ForwardHooks } from "./tcp.ts";

/** Idle time after which a flow is forgotten: conntrack's timeout for unreplied UDP. */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_UDP_MAX_FLOWS = 4096;
/** Datagrams kept per flow while its socket is being set up (a few milliseconds). */
const MAX_PENDING = 256;

export interface UdpFrontendOptions extends ForwardHooks {
  idleTimeoutMs?: number;
  maxFlows?: number;
  preserveSourceIp?: boolean;
  /**
   * How a flow to an endpoint the host cannot reach directly gets its socket (rootless pod
   * networks hand over one made in their namespace); undefined from it: a socket of our own.
   */
  dial?: UdpDialer | undefined;
}

/** A UDP socket connected to an endpoint some other way, or undefined to make one here. */
export type UdpDialer = (ip: string, port: number) => Promise<dgram.Socket> | undefined;

export interface UdpFrontend {
  readonly address: string;
  readonly flowCount: number;
  /** Stops receiving and ends every flow. */
  close(): Promise<void>;
}

interface Flow {
  socket: dgram.Socket | undefined;
  pending: Buffer[];
  timer: NodeJS.Timeout;
  untrack: () => void;
  closed: boolean;
}

function openConnected(endpoint: EndpointInfo, source: string | undefined): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // Already closed by the failure itself.
      }
      reject(err);
    };
    socket.once("error", onError);
    socket.bind({ port: 0, ...(source === undefined ? {} : { address: source }) }, () => {
      socket.connect(endpoint.port, endpoint.ip, () => {
        socket.removeListener("error", onError);
        resolve(socket);
      });
    });
  });
}

export async function listenUdp(
  bind: { ip: string; port: number },
  options: UdpFrontendOptions,
): Promise<UdpFrontend> {
  const idleMs = options.idleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS;
  const maxFlows = options.maxFlows ?? DEFAULT_UDP_MAX_FLOWS;
  const preserve = options.preserveSourceIp ?? true;
  const warn = options.onWarning ?? (() => {});
  const address = `${bind.ip}:${bind.port}`;
  const flows = new Map<string, Flow>();
  const server = dgram.createSocket({ type: "udp4", reuseAddr: false });

  const endFlow = (key: string, flow: Flow) => {
    if (flow.closed) return;
    flow.closed = true;
    clearTimeout(flow.timer);
    if (flows.get(key) === flow) flows.delete(key);
    flow.untrack();
    flow.socket?.close();
  };

  const startFlow = (key: string, rinfo: dgram.RemoteInfo): Flow | undefined => {
    if (options.admit?.(rinfo.address) === false) return undefined;
    const endpoint = options.pick(rinfo.address, { resetAffinity: false });
    if (endpoint === undefined) return undefined;
    if (flows.size >= maxFlows) {
      const oldest = flows.entries().next().value;
      if (oldest !== undefined) endFlow(oldest[0], oldest[1]);
    }
    const flow: Flow = {
      socket: undefined,
      pending: [],
      timer: setTimeout(() => endFlow(key, flow), idleMs),
      untrack: () => {},
      closed: false,
    };
    flow.untrack = options.track(endpoint, () => endFlow(key, flow));
    flows.set(key, flow);
    const source = preserve ? sourceAddressFor(rinfo.address) : undefined;
    const opening =
      options.dial?.(endpoint.ip, endpoint.port) ??
      openConnected(endpoint, source).catch((err: unknown) => {
        if (source !== undefined && isLocalBindError(err))
          return openConnected(endpoint, undefined);
        throw err;
      });
    opening
      .then((socket) => {
        if (flow.closed) {
          socket.close();
          return;
        }
        flow.socket = socket;
        socket.on("message", (reply) => {
          flow.timer.refresh();
          server.send(reply, rinfo.port, rinfo.address);
        });
        socket.on("error", () => {
          // ICMP unreachable from the endpoint and the like: the flow is over.
          endFlow(key, flow);
        });
        for (const msg of flow.pending) socket.send(msg);
        flow.pending = [];
      })
      .catch((err: unknown) => {
        warn(`${address}: UDP flow to ${endpoint.ip}:${endpoint.port}: ${(err as Error).message}`);
        endFlow(key, flow);
      });
    return flow;
  };

  server.on("message", (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    const flow = flows.get(key) ?? startFlow(key, rinfo);
    if (flow === undefined) return;
    flow.timer.refresh();
    if (flow.socket !== undefined) flow.socket.send(msg);
    else if (flow.pending.length < MAX_PENDING) flow.pending.push(msg);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.close();
      reject(new BindError(`UDP ${address}`, err));
    };
    server.once("error", onError);
    server.bind({ address: bind.ip, port: bind.port, exclusive: true }, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => warn(`${address}: ${err.message}`));

  return {
    address,
    get flowCount() {
      return flows.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [key, flow] of [...flows]) endFlow(key, flow);
        try {
          server.close(() => resolve());
        } catch {
          resolve(); // already closed (e.g. after a socket error): nothing left to release
        }
      }),
  };
}
