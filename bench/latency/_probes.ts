/**
 * What a client sees, probed in a tight loop: a DNS A query over UDP, a TCP connection through a
 * ClusterIP. Each probe has one request outstanding at a time and sends the next as soon as the
 * previous answers, so the resolution of a measure is one probe's round trip (reported beside
 * the figures). `until(expected)` resolves with the `performance.now()` at which the first answer
 * equal to `expected` arrived.
 *
 * The probes run in the cluster's own process and event loop: each probe takes a turn of the
 * loop the controllers, DNS and proxy also need, which can only make the figures worse.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { decodeMessage } from "../../src/dns/wire/decode.ts";
import { encodeMessage } from "../../src/dns/wire/encode.ts";
import { emptyHeader } from "../../src/dns/wire/message.ts";

export class ProbeTimeout extends Error {
  override name = "ProbeTimeout";
}

export interface Probe<T> {
  /** One probe: its answer, and the time it arrived. */
  once(): Promise<{ value: T; at: number }>;
  /** Probes until the answer equals `expected` (by `key`); throws ProbeTimeout after `timeoutMs`. */
  until(expected: string, timeoutMs: number): Promise<{ at: number; probes: number }>;
  close(): void;
}

function untilLoop<T>(
  once: () => Promise<{ value: T; at: number }>,
  key: (v: T) => string,
): Probe<T>["until"] {
  return async (expected, timeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    let probes = 0;
    for (;;) {
      const r = await once();
      probes++;
      if (key(r.value) === expected) return { at: r.at, probes };
      if (r.at > deadline) throw new ProbeTimeout(`still "${key(r.value)}", not "${expected}"`);
    }
  };
}

/** A queries for `name`; the answer is the sorted addresses joined by "," ("" for none). */
export function dnsProbe(server: { host: string; port: number }, name: string): Probe<string> {
  const socket = dgram.createSocket("udp4");
  let id = 0;
  let pending: { id: number; resolve: (v: { value: string; at: number }) => void } | undefined;
  socket.on("message", (msg) => {
    const at = performance.now();
    if (!pending || msg.readUInt16BE(0) !== pending.id) return; // a late answer to a timed-out query
    const { message } = decodeMessage(msg);
    const ips = message.answers.flatMap((a) => (a.type === 1 ? [a.address] : [])).sort();
    const p = pending;
    pending = undefined;
    p.resolve({ value: `${message.header.rcode}:${ips.join(",")}`, at });
  });
  const once = () =>
    new Promise<{ value: string; at: number }>((resolve, reject) => {
      id = (id + 1) & 0xffff;
      const packet = encodeMessage({
        header: { ...emptyHeader(id), rd: true },
        questions: [{ name, type: 1, class: 1 }],
        answers: [],
        authorities: [],
        additionals: [],
      }).bytes;
      const timer = setTimeout(() => {
        pending = undefined;
        reject(new ProbeTimeout(`no DNS answer for ${name} in 1 s`));
      }, 1000);
      pending = {
        id,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      socket.send(Buffer.from(packet), server.port, server.host);
    });
  return {
    once,
    until: untilLoop(once, (v) => v),
    close: () => socket.close(),
  };
}

/** The DNS answer key `dnsProbe` gives for a NOERROR answer with these addresses. */
export function dnsKey(ips: readonly string[]): string {
  return `0:${[...ips].sort().join(",")}`;
}

export type TcpOutcome = "served" | "refused";

/**
 * A fresh TCP connection to `host:port`: "served" when the backend's first bytes arrive (the
 * bench's backend writes as soon as it accepts), "refused" when the connection is reset, refused
 * or closed without a byte (the proxy resets a connection it has no endpoint for).
 */
export function tcpProbe(host: string, port: number): Probe<TcpOutcome> {
  const once = () =>
    new Promise<{ value: TcpOutcome; at: number }>((resolve, reject) => {
      const socket = net.connect({ host, port });
      let settled = false;
      const finish = (value: TcpOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const at = performance.now();
        socket.destroy();
        resolve({ value, at });
      };
      const timer = setTimeout(() => {
        settled = true;
        socket.destroy();
        reject(new ProbeTimeout(`TCP ${host}:${port}: no outcome in 1 s`));
      }, 1000);
      socket.once("data", () => finish("served"));
      socket.once("error", () => finish("refused"));
      socket.once("close", () => finish("refused"));
    });
  return { once, until: untilLoop(once, (v) => v), close: () => {} };
}

/** A backend on `host:port` that writes one line to every connection and closes it. */
export async function startBackend(host: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.end("ok\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => resolve());
  });
  return server;
}
