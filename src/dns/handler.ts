/**
 * The transport-independent query pipeline: wire bytes in, wire bytes (or nothing) out.
 *
 *   unreadable header or a response packet → dropped
 *   malformed message                      → FORMERR with the query's ID
 *   cluster and reverse zones              → answered from the view (through the cache)
 *   anything else                          → forwarded upstream, SERVFAIL on failure
 *
 * UDP answers are limited to 512 bytes without EDNS, else to the client's advertised size
 * capped at `maxUdpSize`; what does not fit is dropped record by record and TC set. TCP
 * answers are complete.
 *
 * Every answered query is counted in `metrics` (CoreDNS's names, see `metrics.ts`) with who
 * answered it: the cache, the view (`kubernetes`), the upstream (`forward`) or the server's own
 * error reply; dropped packets and FORMERR replies are not.
 *
 * @module
 */

import { performance } from "node:perf_hooks";
import { cacheKey, readFastQuery } from "./_fastpath.ts";
import {
  type AnswerOptions,
  answer,
  cacheTags,
  replyTo,
  resolveOptions,
  zoneOf,
} from "./answer.ts";
import { AnswerCache, type CacheEntry } from "./cache.ts";
import type { Forwarder } from "./forward.ts";
import { DnsMetrics, Plugin, type PluginIndex } from "./metrics.ts";
import { DEFAULT_QUERY_LOG_SIZE, QueryLog } from "./querylog.ts";
import type { DnsView } from "./view.ts";
import { CLASSIC_UDP_SIZE, Opcode, Rcode, RRClass, RRType } from "./wire/constants.ts";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";
import { WireError } from "./wire/errors.ts";
import type { Message } from "./wire/message.ts";
import { lowerName } from "./wire/name.ts";

export type Transport = "udp" | "tcp";

export interface HandlerOptions extends AnswerOptions {
  /** Largest UDP answer we send whatever the client advertises; default 1232. */
  maxUdpSize?: number;
  /** Cached encoded answers; 0 disables the cache. Default 20000. */
  cacheSize?: number;
  forwarder?: Forwarder;
  /** Called with unexpected failures (a bug, not bad input); the query gets SERVFAIL. */
  onError?: (err: unknown) => void;
  /** Where answered queries are logged (servers on several addresses share one); default: a new one. */
  queryLog?: QueryLog;
}

export interface QueryHandler {
  handle(packet: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null>;
  readonly cache: AnswerCache;
  readonly metrics: DnsMetrics;
  /** The latest answered queries (the same ones `metrics` counts). */
  readonly queryLog: QueryLog;
  close(): void;
}

const TCP_MAX = 65535;

export function createQueryHandler(view: DnsView, options: HandlerOptions): QueryHandler {
  const o = resolveOptions(options);
  const maxUdp = Math.max(CLASSIC_UDP_SIZE, options.maxUdpSize ?? 1232);
  const cache = new AnswerCache(options.cacheSize ?? 20000);
  const unsubscribe = view.onChange((tags) => cache.invalidate(tags));
  const onError = options.onError ?? (() => {});
  const metrics = new DnsMetrics();
  const queryLog = options.queryLog ?? new QueryLog(DEFAULT_QUERY_LOG_SIZE);

  const limitFor = (query: Message, transport: Transport): number => {
    if (transport === "tcp") return TCP_MAX;
    if (!query.edns) return CLASSIC_UDP_SIZE;
    return Math.min(maxUdp, Math.max(CLASSIC_UDP_SIZE, query.edns.udpSize));
  };

  const encodeReply = (reply: Message, limit: number): Buffer =>
    encodeMessage(reply, { maxSize: limit }).bytes;

  /** A cached answer too big for this client: re-encoded truncated, stamped for the query. */
  const truncatedFrom = (message: Message, query: Message, limit: number): Buffer => {
    const m: Message = {
      ...message,
      header: { ...message.header, id: query.header.id, rd: query.header.rd, cd: query.header.cd },
    };
    for (const rr of m.authorities) if (rr.type === 6) rr.serial = view.serial;
    return encodeReply(m, limit);
  };

  /** A private copy of a cached answer stamped for one query: ID, RD, CD, current serial. */
  const patched = (entry: CacheEntry, id: number, rd: boolean, cd: boolean): Buffer => {
    const { bytes } = entry;
    const out = Buffer.allocUnsafe(bytes.length);
    bytes.copy(out);
    out[0] = id >> 8;
    out[1] = id & 0xff;
    out[2] = (out[2]! & ~0x01) | (rd ? 0x01 : 0);
    out[3] = (out[3]! & ~0x10) | (cd ? 0x10 : 0);
    if (entry.serialOffsets.length > 0) {
      const serial = view.serial;
      for (const off of entry.serialOffsets) out.writeUInt32BE(serial, off);
    }
    return out;
  };

  const formErr = (packet: Buffer, id: number): Buffer => {
    const out = Buffer.alloc(12);
    out.writeUInt16BE(id, 0);
    // QR, opcode and RD echoed from the query, rcode FORMERR; no sections (they were unreadable).
    out[2] = 0x80 | (packet[2]! & 0x79);
    out[3] = Rcode.FORMERR;
    return out;
  };

  const handle = (packet: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null> => {
    const start = performance.now();
    const fast = readFastQuery(packet);
    if (fast) {
      const hit = cache.get(fast.key);
      if (hit) {
        const limit =
          transport === "tcp"
            ? TCP_MAX
            : fast.udpSize < 0
              ? CLASSIC_UDP_SIZE
              : Math.min(maxUdp, Math.max(CLASSIC_UDP_SIZE, fast.udpSize));
        if (hit.bytes.length <= limit) {
          const out = patched(hit, fast.id, fast.rd, fast.cd);
          metrics.cacheHit(hit.denial === true);
          metrics.answered(
            transport === "tcp" ? 1 : 0,
            fast.qtype,
            out[3]! & 0x0f,
            Plugin.cache,
            packet.length,
            out.length,
            start,
          );
          queryLog.record(out, performance.now() - start);
          return out;
        }
      }
    }
    return slow(packet, transport, start);
  };

  const slow = (
    packet: Buffer,
    transport: Transport,
    start: number,
  ): Buffer | null | Promise<Buffer | null> => {
    if (packet.length < 12) return null;
    if ((packet[2]! & 0x80) !== 0) return null; // a response: never answer it
    let query: Message;
    let questionEnd: number;
    try {
      const d = decodeMessage(packet);
      query = d.message;
      questionEnd = d.questionEnd;
    } catch (err) {
      if (err instanceof WireError && err.id !== undefined) return formErr(packet, err.id);
      return null;
    }
    const limit = limitFor(query, transport);
    const q = query.questions[0];
    const proto = transport === "tcp" ? 1 : 0;
    const qtype = q?.type ?? 0;
    const done = (out: Buffer, rcode: number, plugin: PluginIndex): Buffer => {
      metrics.answered(proto, qtype, rcode, plugin, packet.length, out.length, start);
      queryLog.record(out, performance.now() - start);
      return out;
    };
    const servfail = () =>
      done(encodeReply(replyTo(query, Rcode.SERVFAIL), limit), Rcode.SERVFAIL, Plugin.server);
    const simple =
      q !== undefined &&
      query.questions.length === 1 &&
      query.header.opcode === Opcode.QUERY &&
      q.class === RRClass.IN &&
      (!query.edns || query.edns.version === 0);
    const key = simple ? cacheKey(packet.toString("latin1", 12, questionEnd), query.edns) : "";
    if (simple) {
      const hit = cache.get(key);
      if (hit && hit.bytes.length <= limit) {
        metrics.cacheHit(hit.denial === true);
        const out = patched(hit, query.header.id, query.header.rd, query.header.cd);
        return done(out, out[3]! & 0x0f, Plugin.cache);
      }
      if (hit?.message) {
        metrics.cacheHit(hit.denial === true);
        return done(
          truncatedFrom(hit.message, query, limit),
          hit.message.header.rcode,
          Plugin.cache,
        );
      }
      metrics.cacheMiss();
      if (
        zoneOf(lowerName(q.name), o) === null &&
        q.type !== RRType.AXFR &&
        q.type !== RRType.IXFR
      ) {
        return forward(packet, query, limit).then((a) => done(a.out, a.rcode, a.plugin));
      }
    }
    try {
      const r = answer(query, view, options);
      if (r instanceof Promise) {
        return r.then(
          (reply) => done(encodeReply(reply, limit), reply.header.rcode, Plugin.kubernetes),
          (err) => {
            onError(err);
            return servfail();
          },
        );
      }
      if (
        simple &&
        view.synced &&
        (r.header.rcode === Rcode.NOERROR || r.header.rcode === Rcode.NXDOMAIN)
      ) {
        const tags = cacheTags(q.name, options);
        if (tags && !r.answers.some((rr) => rr.type === RRType.CNAME)) {
          const full = encodeMessage(r);
          const denial = r.header.rcode === Rcode.NXDOMAIN || r.answers.length === 0;
          cache.set(
            key,
            full.bytes.length > CLASSIC_UDP_SIZE
              ? { bytes: full.bytes, serialOffsets: full.serialOffsets, message: r, denial }
              : { bytes: full.bytes, serialOffsets: full.serialOffsets, denial },
            tags,
          );
          const out = full.bytes.length <= limit ? Buffer.from(full.bytes) : encodeReply(r, limit);
          return done(out, r.header.rcode, Plugin.kubernetes);
        }
      }
      return done(encodeReply(r, limit), r.header.rcode, Plugin.kubernetes);
    } catch (err) {
      onError(err);
      return servfail();
    }
  };

  /** An upstream's answer, or SERVFAIL written by the server when there is none. */
  const forward = async (
    packet: Buffer,
    query: Message,
    limit: number,
  ): Promise<{ out: Buffer; rcode: number; plugin: PluginIndex }> => {
    const failed = () => ({
      out: encodeReply(replyTo(query, Rcode.SERVFAIL), limit),
      rcode: Rcode.SERVFAIL,
      plugin: Plugin.server,
    });
    if (!options.forwarder) return failed();
    try {
      const res = await options.forwarder.forward(packet);
      const rcode = res[3]! & 0x0f;
      if (res.length <= limit) return { out: res, rcode, plugin: Plugin.forward };
      // Too big for this client over UDP: an empty truncated answer sends it to TCP.
      const tc = replyTo(query, rcode);
      tc.header.tc = true;
      tc.header.aa = (res[2]! & 0x04) !== 0;
      return { out: encodeReply(tc, limit), rcode, plugin: Plugin.forward };
    } catch {
      return failed();
    }
  };

  return {
    handle,
    cache,
    metrics,
    queryLog,
    close() {
      unsubscribe();
      cache.clear();
    },
  };
}
