/**
 * A TCP frontend: one listening socket that forwards each accepted connection to an endpoint.
 *
 * Contract:
 * - The accepted socket stays paused until the backend connection is up, so no byte is read
 *   before it can be delivered.
 * - Connect attempts follow the userspace kube-proxy: up to one attempt per entry of
 *   `dialTimeoutsMs` (250 ms, 500 ms, 1 s, 2 s), each to the next endpoint the picker gives,
 *   asking it to reset the client's affinity after a failure and to avoid the endpoints this
 *   connection already tried (while others are left). No endpoint or no success: the
 *   client gets a reset (RST), as kube-proxy rejects. Where kube-proxy would drop instead (a
 *   `Local` policy with endpoints only on other nodes) we reset too: a proxy that has already
 *   accepted the connection cannot make it look unanswered, and a reset fails fast.
 * - Forwarding keeps TCP semantics: half-close travels each way (FIN after the buffered bytes),
 *   back-pressure through `pipe`, a reset on one side resets the other, Nagle is off both ways.
 * - Each connection is registered with `track` under its endpoint so that the proxier can close
 *   it when the endpoint is deleted; failures stay within their connection.
 *
 * Why client → backend still uses `pipe` (measured, Node 20): the accepted socket cannot take
 * `onread`, so each read gets a fresh 64 KiB buffer. Reads are already full-size and
 * back-pressure pauses are rare (42 in 12,302 writes); the extra cost over the other direction
 * (about 0.25 s of CPU per GB) is in fresh pages (35 page faults per MiB against 5, heap
 * growing and shrinking between scavenges) rather than in JavaScript. A `'data'` loop, cork
 * and writev batching, and a 1 MiB highWaterMark on either socket did not measure faster.
 *
 * @module
 */
import net from "node:net";
import { BindError, isLocalBindError, sourceAddressFor } from "./_listen.ts";
import { ForwardingReader } from "./_reader.ts";
import { type EndpointInfo, endpointKey } from "./state.ts";

export const DEFAULT_DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export interface ForwardHooks {
  /**
   * The endpoint for a new connection, or undefined when there is none (reject). After a failed
   * connect: `resetAffinity`, and `avoid` holds the endpoints (`ip:port`) already tried.
   */
  pick: (
    clientIp: string,
    options: { resetAffinity: boolean; avoid?: ReadonlySet<string> },
  ) => EndpointInfo | undefined;
  /**
   * Whether a client may use this frontend at all (a LoadBalancer Service's
   * `loadBalancerSourceRanges`); refused: TCP reset, UDP datagrams dropped. Default: anyone.
   */
  admit?: (clientIp: string) => boolean;
  /** Registers a live connection; returns the function that unregisters it. */
  track: (endpoint: EndpointInfo, close: () => void) => () => void;
  /** Per-connection trouble worth a log line (failed dial, rejection); never thrown. */
  onWarning?: (message: string) => void;
}

export interface TcpFrontendOptions extends ForwardHooks {
  dialTimeoutsMs?: readonly number[];
  /** Bind outgoing connections to the client's loopback IP so backends see it (default true). */
  preserveSourceIp?: boolean;
  /**
   * How an endpoint the host cannot reach directly is dialled (rootless pod networks hand over a
   * socket connected inside their namespace); undefined from it: a plain connect.
   */
  dial?: EndpointDialer | undefined;
}

/** Connects to an endpoint some other way, or undefined to connect directly. */
export type EndpointDialer = (ip: string, port: number) => Promise<net.Socket> | undefined;

export interface TcpFrontend {
  readonly address: string;
  /** Stops accepting; connections already forwarded continue. */
  close(): Promise<void>;
}

class DialTimeoutError extends Error {
  override readonly name = "DialTimeoutError";
  readonly code = "ETIMEDOUT";
}

interface Dialled {
  socket: net.Socket;
  /** Absent for a handed-over socket (no `onread`): backend to client then goes by `pipe`. */
  reader?: ForwardingReader;
}

function dial(endpoint: EndpointInfo, timeoutMs: number, localAddress?: string): Promise<Dialled> {
  return new Promise((resolve, reject) => {
    const reader = new ForwardingReader();
    const socket = net.connect({
      host: endpoint.ip,
      port: endpoint.port,
      allowHalfOpen: true,
      noDelay: true,
      onread: reader.onread,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DialTimeoutError(`connect to ${endpoint.ip}:${endpoint.port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      // Until splice() takes over; splice() installs the handler that acts on errors.
      socket.on("error", () => {});
      resolve({ socket, reader });
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once("error", onError);
  });
}

/** Dials through `dialer`, within `timeoutMs`; undefined when the dialer leaves it to us. */
function dialVia(
  dialer: EndpointDialer | undefined,
  endpoint: EndpointInfo,
  timeoutMs: number,
): Promise<Dialled> | undefined {
  const dialling = dialer?.(endpoint.ip, endpoint.port);
  if (!dialling) return undefined;
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new DialTimeoutError(`connect to ${endpoint.ip}:${endpoint.port} timed out`));
    }, timeoutMs);
    dialling.then(
      (socket) => {
        clearTimeout(timer);
        if (late) return socket.destroy();
        socket.setNoDelay(true);
        socket.on("error", () => {});
        resolve({ socket });
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

async function dialFrom(
  endpoint: EndpointInfo,
  timeoutMs: number,
  source: string | undefined,
  dialer?: EndpointDialer,
): Promise<Dialled> {
  const via = dialVia(dialer, endpoint, timeoutMs);
  if (via !== undefined) return via;
  if (source === undefined) return dial(endpoint, timeoutMs);
  try {
    return await dial(endpoint, timeoutMs, source);
  } catch (err) {
    // The client's port space on its own address is not ours to exhaust: fall back.
    if (isLocalBindError(err)) return dial(endpoint, timeoutMs);
    throw err;
  }
}

function abort(socket: net.Socket, err: Error | undefined): void {
  if (socket.destroyed) return;
  if ((err as NodeJS.ErrnoException | undefined)?.code === "ECONNRESET") socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Joins two connected sockets until both directions are done or one fails. Client to backend
 * goes through `pipe`; backend to client through the backend's {@link ForwardingReader}.
 */
function splice(client: net.Socket, backend: Dialled, untrack: () => void): void {
  let open = 2;
  const closed = () => {
    if (--open === 0) untrack();
  };
  const link = (a: net.Socket, b: net.Socket) => {
    let error: Error | undefined;
    a.on("error", (err) => {
      error = err;
    });
    a.once("close", () => {
      // A clean close means a's FIN has been passed on and b's already reached a: b finishes
      // by itself once its buffered bytes are flushed. Anything else tears b down too.
      if (!a.readableEnded || error !== undefined) abort(b, error);
      closed();
    });
  };
  link(client, backend.socket);
  link(backend.socket, client);
  client.pipe(backend.socket);
  if (backend.reader) {
    backend.reader.attach(backend.socket, client);
    backend.socket.on("end", () => client.end());
  } else {
    backend.socket.pipe(client);
    backend.socket.resume();
  }
}

/**
 * What a TCP frontend does with each accepted connection (paused until its backend is up), also
 * for connections accepted elsewhere (the rootless node namespace's ClusterIP listeners).
 */
export function tcpConnectionHandler(
  bind: { ip: string; port: number },
  options: TcpFrontendOptions,
): (client: net.Socket) => void {
  const timeouts = options.dialTimeoutsMs ?? DEFAULT_DIAL_TIMEOUTS_MS;
  const preserve = options.preserveSourceIp ?? true;
  const warn = options.onWarning ?? (() => {});
  const address = `${bind.ip}:${bind.port}`;

  const handle = async (client: net.Socket): Promise<void> => {
    const clientIp = client.remoteAddress ?? "";
    if (options.admit?.(clientIp) === false) {
      client.resetAndDestroy();
      return;
    }
    let gone = false;
    client.once("close", () => {
      gone = true;
    });
    let reset = false;
    const tried = new Set<string>();
    for (const timeoutMs of timeouts) {
      const endpoint = options.pick(clientIp, { resetAffinity: reset, avoid: tried });
      if (endpoint === undefined) break;
      tried.add(endpointKey(endpoint));
      let backend: Dialled;
      try {
        backend = await dialFrom(
          endpoint,
          timeoutMs,
          preserve ? sourceAddressFor(clientIp) : undefined,
          options.dial,
        );
      } catch (err) {
        if (gone) return;
        warn(`${address}: dial ${endpoint.ip}:${endpoint.port} failed: ${(err as Error).message}`);
        reset = true;
        continue;
      }
      if (gone) {
        backend.socket.destroy();
        return;
      }
      const peer = backend.socket;
      const untrack = options.track(endpoint, () => {
        client.destroy();
        peer.destroy();
      });
      splice(client, backend, untrack);
      return;
    }
    if (!gone) client.resetAndDestroy();
  };
  return (client) => {
    client.on("error", () => {
      // Reported through 'close'; a client's failure concerns only its own connection.
    });
    handle(client).catch((err: unknown) => {
      warn(`${address}: ${(err as Error).message}`);
      client.destroy();
    });
  };
}

export async function listenTcp(
  bind: { ip: string; port: number },
  options: TcpFrontendOptions,
): Promise<TcpFrontend> {
  const address = `${bind.ip}:${bind.port}`;
  const warn = options.onWarning ?? (() => {});
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  server.on("connection", tcpConnectionHandler(bind, options));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new BindError(`TCP ${address}`, err));
    server.once("error", onError);
    server.listen({ host: bind.ip, port: bind.port, exclusive: true }, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
  // After listening, errors (such as EMFILE on accept) must not bring the process down.
  server.on("error", (err) => warn(`${address}: ${err.message}`));
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
