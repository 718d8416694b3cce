/**
 * The DNS server: UDP and TCP listeners on each address, all feeding one query handler.
 *
 * Port 0 picks a free UDP port and then listens for TCP on the same port (retrying with a new
 * port when TCP's is taken), so each address reports one port for both. TCP follows RFC 7766:
 * 2-byte length framing, any number of queries per connection, answers written as they are
 * ready, idle connections closed after `tcpIdleTimeoutMs`.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import type { AnswerOptions } from "./answer.ts";
import {
  createForwarder,
  type Forwarder,
  readResolvConf,
  resolverFromForwarder,
  serversFromResolvConf,
  type UpstreamConfig,
} from "./forward.ts";
import { createQueryHandler, type QueryHandler } from "./handler.ts";
import type { QueryLog } from "./querylog.ts";
import type { DnsView } from "./view.ts";

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DnsServerOptions extends AnswerOptions {
  view: DnsView;
  listen: ListenAddress[];
  /** Upstream resolvers for other names; default: /etc/resolv.conf without our own addresses. */
  upstream?: UpstreamConfig;
  /** resolv.conf text to read upstreams from when `upstream` is not given. */
  resolvConf?: string;
  maxUdpSize?: number;
  cacheSize?: number;
  tcpIdleTimeoutMs?: number;
  /** Where answered queries are logged (see `querylog.ts`); default: one per server. */
  queryLog?: QueryLog;
  onError?: (err: unknown) => void;
}

export interface DnsServer {
  addresses: ListenAddress[];
  handler: QueryHandler;
  close(): Promise<void>;
}

interface Bound {
  udp: dgram.Socket;
  tcp: net.Server;
  address: ListenAddress;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const { view, listen } = options;
  const idleMs = options.tcpIdleTimeoutMs ?? 10_000;
  const upstream: UpstreamConfig = options.upstream ?? {
    servers: serversFromResolvConf(options.resolvConf ?? readResolvConf(), listen),
    timeoutMs: 2000,
  };
  const forwarder: Forwarder = createForwarder(upstream);
  const resolve =
    options.resolve ?? (upstream.servers.length > 0 ? resolverFromForwarder(forwarder) : undefined);
  const handler = createQueryHandler(view, {
    ...options,
    forwarder,
    ...(resolve ? { resolve } : {}),
  });
  const onError = options.onError ?? (() => {});
  const bound: Bound[] = [];
  const connections = new Set<net.Socket>();

  const serveUdp = (udp: dgram.Socket) => {
    // Hot path: no closure per datagram unless the answer is asynchronous.
    udp.on("message", (msg, rinfo) => {
      if (forwarder.isOwnPort(rinfo.port) && isLoopback(rinfo.address)) return; // our own forward: a loop
      let out: ReturnType<QueryHandler["handle"]>;
      try {
        out = handler.handle(msg, "udp");
      } catch (err) {
        onError(err);
        return;
      }
      if (out === null) return;
      if (out instanceof Promise) {
        out.then((b) => {
          if (b) udp.send(b, rinfo.port, rinfo.address);
        }, onError);
        return;
      }
      udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on("error", onError);
  };

  const serveTcp = (sock: net.Socket) => {
    if (forwarder.isOwnPort(sock.remotePort ?? 0) && isLoopback(sock.remoteAddress ?? "")) {
      sock.destroy();
      return;
    }
    connections.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(idleMs, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    const reply = (b: Buffer | null) => {
      if (!b || sock.destroyed) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(b.length, 0);
      sock.write(Buffer.concat([len, b]));
    };
    sock.on("data", (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let out: ReturnType<QueryHandler["handle"]>;
        try {
          out = handler.handle(Buffer.from(msg), "tcp");
        } catch (err) {
          onError(err);
          continue;
        }
        if (out instanceof Promise) out.then(reply, onError);
        else reply(out);
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => connections.delete(sock));
  };

  const bindOne = async (addr: ListenAddress): Promise<Bound> => {
    const family = net.isIPv6(addr.host) ? "udp6" : "udp4";
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family });
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(addr.port, addr.host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer(serveTcp);
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen(port, addr.host, () => {
            tcp.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        if (addr.port === 0 && attempt < 20 && (err as NodeJS.ErrnoException).code === "EADDRINUSE")
          continue;
        throw err;
      }
      serveUdp(udp);
      return { udp, tcp, address: { host: addr.host, port } };
    }
  };

  try {
    for (const addr of listen) bound.push(await bindOne(addr));
    // The server label CoreDNS gives a block bound to one address (`bind` plugin).
    const first = bound[0]?.address;
    if (first) {
      const v6 = net.isIPv6(first.host);
      handler.metrics.server = `dns://${v6 ? `[${first.host}]` : first.host}:${first.port}`;
      handler.metrics.family = v6 ? 2 : 1;
    }
  } catch (err) {
    await closeAll(bound, connections);
    forwarder.close();
    handler.close();
    throw err;
  }

  return {
    addresses: bound.map((b) => b.address),
    handler,
    async close() {
      await closeAll(bound, connections);
      forwarder.close();
      handler.close();
    },
  };
}

async function closeAll(bound: Bound[], connections: Set<net.Socket>): Promise<void> {
  for (const c of connections) c.destroy();
  await Promise.all(
    bound.map(
      (b) =>
        new Promise<void>((resolve) => {
          b.udp.close(() => b.tcp.close(() => resolve()));
        }),
    ),
  );
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}
