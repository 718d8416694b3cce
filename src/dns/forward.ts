/**
 * Forwarding of names outside the cluster zones to upstream resolvers: UDP first with a
 * timeout per server (servers tried in order), TCP when the UDP answer is truncated. The
 * upstream answer is relayed byte for byte with the client's ID restored; a response is only
 * accepted from the server asked, with the ID and question we sent. Failure of every server
 * rejects (the caller answers SERVFAIL).
 *
 * @module
 */
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import net from "node:net";
import type { ExternalResolver } from "./answer.ts";
import { RRClass } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";
import { emptyHeader } from "./wire/message.ts";

export interface UpstreamConfig {
  /** `host`, `host:port` or `[v6]:port`; port defaults to 53. */
  servers: string[];
  timeoutMs: number;
}

export interface Forwarder {
  /** Sends a wire query upstream and resolves with the wire response (client's ID). */
  forward(query: Buffer): Promise<Buffer>;
  /**
   * Whether a packet from this local port is one of our own forwarded queries coming back to
   * us (an upstream list that points at ourselves); the server drops those to break the loop.
   */
  isOwnPort(port: number): boolean;
  close(): void;
}

export class ForwardError extends Error {
  override readonly name = "ForwardError";
}

export interface HostPort {
  host: string;
  port: number;
}

export function parseServer(s: string): HostPort {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : 53 };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const colon = s.lastIndexOf(":");
  if (colon > 0) return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) };
  return { host: s, port: 53 };
}

/** `nameserver` lines of a resolv.conf, minus the given addresses (our own listeners). */
export function serversFromResolvConf(text: string, exclude: readonly HostPort[] = []): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, "");
    if (
      exclude.some(
        (e) => e.port === 53 && (e.host === host || e.host === "0.0.0.0" || e.host === "::"),
      )
    )
      continue;
    out.push(host);
  }
  return out;
}

export function readResolvConf(path = "/etc/resolv.conf"): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

interface Pending {
  resolve: (b: Buffer | null) => void;
  server: HostPort;
  question: Buffer;
}

function questionBytes(msg: Buffer): Buffer {
  // The question section of a well-formed single-question query: name, type, class.
  let p = 12;
  while (p < msg.length && msg[p]! !== 0) {
    if ((msg[p]! & 0xc0) !== 0) return msg.subarray(12, p + 2 + 4);
    p += msg[p]! + 1;
  }
  return msg.subarray(12, Math.min(msg.length, p + 5));
}

function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    // Resolvers may echo the name with different ASCII case.
    if ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 0x61 || (x | 0x20) > 0x7a) return false;
  }
  return true;
}

export function createForwarder(config: UpstreamConfig): Forwarder {
  const servers = config.servers.map(parseServer);
  const pending = new Map<number, Pending>();
  const sockets = new Map<4 | 6, dgram.Socket>();
  const ownPorts = new Set<number>();
  let closed = false;

  const socketFor = (family: 4 | 6): dgram.Socket => {
    let s = sockets.get(family);
    if (s) return s;
    s = dgram.createSocket(family === 4 ? "udp4" : "udp6");
    s.on("message", (msg, rinfo) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = pending.get(id);
      if (!p || rinfo.address !== p.server.host || rinfo.port !== p.server.port) return;
      if (!sameQuestion(questionBytes(msg), p.question)) return;
      pending.delete(id);
      p.resolve(msg);
    });
    s.on("error", () => {});
    s.on("listening", () => ownPorts.add(s!.address().port));
    s.unref();
    sockets.set(family, s);
    return s;
  };

  const freeId = (): number => {
    for (let i = 0; i < 100; i++) {
      const id = Math.floor(Math.random() * 65536);
      if (!pending.has(id)) return id;
    }
    throw new ForwardError("too many queries in flight");
  };

  const udp = (query: Buffer, server: HostPort): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const id = freeId();
      const out = Buffer.from(query);
      out.writeUInt16BE(id, 0);
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(null);
      }, config.timeoutMs);
      pending.set(id, {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        server,
        question: questionBytes(out),
      });
      socketFor(net.isIPv6(server.host) ? 6 : 4).send(out, server.port, server.host, (err) => {
        if (!err) return;
        clearTimeout(timer);
        pending.delete(id);
        resolve(null);
      });
    });

  const tcp = (query: Buffer, server: HostPort): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const sock = net.connect({ host: server.host, port: server.port });
      let buf = Buffer.alloc(0);
      let localPort = 0;
      const done = (b: Buffer | null) => {
        clearTimeout(timer);
        ownPorts.delete(localPort);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => done(null), config.timeoutMs);
      sock.on("connect", () => {
        localPort = sock.localPort ?? 0;
        ownPorts.add(localPort);
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(query.length, 0);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          done(
            msg.length >= 12 && msg.readUInt16BE(0) === query.readUInt16BE(0)
              ? Buffer.from(msg)
              : null,
          );
        }
      });
      sock.on("error", () => done(null));
      sock.on("close", () => done(null));
    });

  return {
    async forward(query) {
      if (closed) throw new ForwardError("forwarder closed");
      if (query.length < 12) throw new ForwardError("query shorter than a header");
      const clientId = query.readUInt16BE(0);
      for (const server of servers) {
        let res = await udp(query, server);
        if (res && (res[2]! & 0x02) !== 0) res = (await tcp(query, server)) ?? res;
        if (res) {
          const out = Buffer.from(res);
          out.writeUInt16BE(clientId, 0);
          return out;
        }
      }
      throw new ForwardError(servers.length === 0 ? "no upstream servers" : "no upstream answered");
    },
    isOwnPort(port) {
      return ownPorts.has(port);
    },
    close() {
      closed = true;
      for (const s of sockets.values()) s.close();
      sockets.clear();
      for (const p of pending.values()) p.resolve(null);
      pending.clear();
    },
  };
}

/**
 * An ExternalName resolver that asks the upstreams, as CoreDNS's `upstream` does: the answer
 * section of whatever the upstream says (empty for NXDOMAIN); rejects when no upstream answers.
 */
export function resolverFromForwarder(forwarder: Forwarder): ExternalResolver {
  return async (name, type) => {
    const q = encodeMessage({
      header: { ...emptyHeader(Math.floor(Math.random() * 65536)), rd: true },
      questions: [{ name, type, class: RRClass.IN }],
      answers: [],
      authorities: [],
      additionals: [],
    }).bytes;
    const res = decodeMessage(await forwarder.forward(q)).message;
    if (res.header.rcode !== 0 && res.header.rcode !== 3)
      throw new ForwardError(`upstream rcode ${res.header.rcode}`);
    return res.answers;
  };
}
