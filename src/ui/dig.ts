/**
 * "Ask the DNS": one real query over UDP to the cluster DNS server (TCP when the answer comes back
 * truncated), and its answer printed the way `dig` prints it: the header line, the flags, the
 * question, answer, authority and additional sections, TTLs included.
 *
 * Contract: the name is sent as given (a trailing dot is optional; no search list, as
 * `dig` without `+search`); a reply that does not come within `timeoutMs` rejects. The query goes
 * to the server the caller names (the cluster's own), never elsewhere.
 *
 * @module
 */
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import {
  decodeMessage,
  encodeMessage,
  type Message,
  Rcode,
  type ResourceRecord,
  RRClass,
  RRType,
} from "../dns/index.ts";
import type { DigAnswer } from "./protocol.ts";

export const QUERY_TYPES = ["A", "AAAA", "SRV", "PTR", "CNAME", "TXT", "SOA", "NS", "ANY"] as const;

const TYPE_NAME = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const RCODE_NAME = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

export function typeName(type: number): string {
  return TYPE_NAME.get(type) ?? `TYPE${type}`;
}

export function rcodeName(rcode: number): string {
  return RCODE_NAME.get(rcode) ?? `RCODE${rcode}`;
}

export interface DigOptions {
  server: { host: string; port: number };
  timeoutMs?: number;
}

export async function dig(name: string, type: string, options: DigOptions): Promise<DigAnswer> {
  const qtype = (RRType as Record<string, number>)[type.toUpperCase()];
  if (qtype === undefined) throw new RangeError(`unknown query type ${type}`);
  const qname = name.trim().replace(/\.$/, "");
  if (!qname || qname.length > 253) throw new RangeError("a name of 1 to 253 characters");
  const id = randomInt(0, 0x10000);
  const query: Message = {
    header: {
      id,
      qr: false,
      opcode: 0,
      aa: false,
      tc: false,
      rd: true,
      ra: false,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name: qname, type: qtype, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
    edns: { udpSize: 1232, version: 0, dnssecOk: false, options: [] },
  };
  const bytes = Buffer.from(encodeMessage(query).bytes);
  const timeoutMs = options.timeoutMs ?? 2000;
  let reply = decodeMessage(await udpExchange(bytes, id, options.server, timeoutMs)).message;
  if (reply.header.tc) {
    reply = decodeMessage(await tcpExchange(bytes, options.server, timeoutMs)).message;
  }
  return {
    text: formatDig(reply),
    rcode: rcodeName(reply.header.rcode),
    aa: reply.header.aa,
    answers: reply.answers.map((rr) => ({
      name: rr.name,
      ttl: rr.ttl,
      type: typeName(rrType(rr)),
      data: rdata(rr),
    })),
  };
}

function udpExchange(
  bytes: Buffer,
  id: number,
  server: { host: string; port: number },
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${server.host}:${server.port}`)),
      timeoutMs,
    );
    const finish = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on("error", (err) => finish(err));
    sock.on("message", (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) finish(null, msg);
    });
    sock.send(bytes, server.port, server.host);
  });
}

function tcpExchange(
  bytes: Buffer,
  server: { host: string; port: number },
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error("DNS over TCP timed out")));
    sock.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(bytes.length);
      sock.write(Buffer.concat([len, bytes]));
    });
    sock.on("data", (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        sock.destroy();
        resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
      }
    });
    sock.on("error", reject);
  });
}

function rrType(rr: ResourceRecord): number {
  return rr.type === 0 ? rr.rawType : rr.type;
}

function rdata(rr: ResourceRecord): string {
  switch (rr.type) {
    case 1:
    case 28:
      return rr.address;
    case 2:
    case 5:
    case 12:
      return `${rr.target}.`;
    case 33:
      return `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}.`;
    case 16:
      return rr.texts.map((t) => JSON.stringify(t)).join(" ");
    case 6:
      return `${rr.mname}. ${rr.rname}. ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    default:
      return `\\# ${rr.rdata.length} ${Buffer.from(rr.rdata).toString("hex")}`;
  }
}

function line(rr: ResourceRecord): string {
  return `${rr.name}.\t\t${rr.ttl}\tIN\t${typeName(rrType(rr))}\t${rdata(rr)}`;
}

/** The reply as `dig` prints it, from the header line to the last section. */
export function formatDig(m: Message): string {
  const h = m.header;
  const flags = [
    h.qr && "qr",
    h.aa && "aa",
    h.tc && "tc",
    h.rd && "rd",
    h.ra && "ra",
    h.ad && "ad",
    h.cd && "cd",
  ].filter(Boolean);
  const out = [
    `;; ->>HEADER<<- opcode: QUERY, status: ${rcodeName(h.rcode)}, id: ${h.id}`,
    `;; flags: ${flags.join(" ")}; QUERY: ${m.questions.length}, ANSWER: ${m.answers.length}, AUTHORITY: ${m.authorities.length}, ADDITIONAL: ${m.additionals.length + (m.edns ? 1 : 0)}`,
    "",
    ";; QUESTION SECTION:",
    ...m.questions.map((q) => `;${q.name}.\t\t\tIN\t${typeName(q.type)}`),
  ];
  const section = (title: string, rrs: ResourceRecord[]) => {
    if (rrs.length === 0) return;
    out.push("", `;; ${title} SECTION:`, ...rrs.map(line));
  };
  section("ANSWER", m.answers);
  section("AUTHORITY", m.authorities);
  section("ADDITIONAL", m.additionals);
  return out.join("\n");
}
