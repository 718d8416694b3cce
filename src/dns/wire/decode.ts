/**
 * Strict, safe decoding of a whole DNS message. Every read is bounds-checked; section counts
 * are checked against the packet size before looping; rdata must be consumed exactly; at most
 * one OPT, in the additional section, owned by the root; no trailing bytes. Any violation
 * throws a {@link WireError} carrying the message ID when the header was readable.
 *
 * @module
 */
import { HEADER_SIZE, RRType } from "./constants.ts";
import { WireError } from "./errors.ts";
import { formatIPv4, formatIPv6 } from "./ip.ts";
import type { Edns, EdnsOption, Header, Message, Question, ResourceRecord } from "./message.ts";
import { readName } from "./name.ts";

export interface Decoded {
  message: Message;
  /** Offset just past the question section: bytes [12, questionEnd) are the raw question. */
  questionEnd: number;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

function u32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function decodeHeader(buf: Uint8Array): Header {
  if (buf.length < HEADER_SIZE) throw new WireError("short-header", "packet shorter than a header");
  const flags = u16(buf, 2);
  return {
    id: u16(buf, 0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
  };
}

export function decodeMessage(buf: Uint8Array): Decoded {
  const header = decodeHeader(buf);
  const id = header.id;
  const qd = u16(buf, 4);
  const an = u16(buf, 6);
  const ns = u16(buf, 8);
  const ar = u16(buf, 10);
  // Cheapest possible sizes: a question is ≥ 5 bytes, a record ≥ 11.
  if (HEADER_SIZE + qd * 5 + (an + ns + ar) * 11 > buf.length) {
    throw new WireError("truncated", "section counts exceed the packet", id);
  }
  let pos = HEADER_SIZE;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const { name, end } = readName(buf, pos, id);
    if (end + 4 > buf.length) throw new WireError("truncated", "question runs past the packet", id);
    questions.push({ name, type: u16(buf, end), class: u16(buf, end + 2) });
    pos = end + 4;
  }
  const questionEnd = pos;
  const sections: ResourceRecord[][] = [[], [], []];
  const counts = [an, ns, ar];
  let edns: Edns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const { name, end } = readName(buf, pos, id);
      if (end + 10 > buf.length)
        throw new WireError("truncated", "record runs past the packet", id);
      const type = u16(buf, end);
      const klass = u16(buf, end + 2);
      const ttl = u32(buf, end + 4);
      const rdlen = u16(buf, end + 8);
      const rdStart = end + 10;
      const rdEnd = rdStart + rdlen;
      if (rdEnd > buf.length) throw new WireError("truncated", "rdata runs past the packet", id);
      pos = rdEnd;
      if (type === RRType.OPT) {
        if (s !== 2) throw new WireError("bad-opt", "OPT outside the additional section", id);
        if (edns) throw new WireError("duplicate-opt", "more than one OPT record", id);
        if (name !== "") throw new WireError("bad-opt", "OPT owner is not the root", id);
        edns = decodeOpt(buf, rdStart, rdEnd, klass, ttl, id);
        // The extended rcode bits belong to the header's rcode.
        header.rcode |= (ttl >>> 24) << 4;
        continue;
      }
      sections[s]!.push(decodeRecord(buf, { name, type, klass, ttl, rdStart, rdEnd, id }));
    }
  }
  if (pos !== buf.length) throw new WireError("trailing-bytes", "bytes after the last record", id);
  const message: Message = {
    header,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
  if (edns) message.edns = edns;
  return { message, questionEnd };
}

function decodeOpt(
  buf: Uint8Array,
  start: number,
  end: number,
  udpSize: number,
  ttl: number,
  id: number,
): Edns {
  const options: EdnsOption[] = [];
  let p = start;
  while (p < end) {
    if (p + 4 > end) throw new WireError("bad-opt", "truncated EDNS option", id);
    const code = u16(buf, p);
    const len = u16(buf, p + 2);
    if (p + 4 + len > end) throw new WireError("bad-opt", "EDNS option runs past the record", id);
    options.push({ code, data: new Uint8Array(buf.subarray(p + 4, p + 4 + len)) });
    p += 4 + len;
  }
  return { udpSize, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0, options };
}

interface RawRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdStart: number;
  rdEnd: number;
  id: number;
}

function decodeRecord(buf: Uint8Array, r: RawRecord): ResourceRecord {
  const { name, type, klass, ttl, rdStart, rdEnd, id } = r;
  const len = rdEnd - rdStart;
  const bad = (what: string) => new WireError("bad-rdata", `malformed ${what} rdata`, id);
  // Names inside rdata must stay inside it; read them from a view cut at rdEnd so a name
  // cannot run on into the next record, while pointers may still reach earlier bytes.
  const view = buf.subarray(0, rdEnd);
  switch (type) {
    case RRType.A:
      if (len !== 4) throw bad("A");
      return { name, class: klass, ttl, type: 1, address: formatIPv4(buf, rdStart) };
    case RRType.AAAA:
      if (len !== 16) throw bad("AAAA");
      return { name, class: klass, ttl, type: 28, address: formatIPv6(buf, rdStart) };
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR: {
      const t = readName(view, rdStart, id);
      if (t.end !== rdEnd) throw bad("name");
      return { name, class: klass, ttl, type: type as 2 | 5 | 12, target: t.name };
    }
    case RRType.SRV: {
      if (len < 7) throw bad("SRV");
      const t = readName(view, rdStart + 6, id);
      if (t.end !== rdEnd) throw bad("SRV");
      return {
        name,
        class: klass,
        ttl,
        type: 33,
        priority: u16(buf, rdStart),
        weight: u16(buf, rdStart + 2),
        port: u16(buf, rdStart + 4),
        target: t.name,
      };
    }
    case RRType.SOA: {
      const m = readName(view, rdStart, id);
      const rn = readName(view, m.end, id);
      if (rn.end + 20 !== rdEnd) throw bad("SOA");
      const o = rn.end;
      return {
        name,
        class: klass,
        ttl,
        type: 6,
        mname: m.name,
        rname: rn.name,
        serial: u32(buf, o),
        refresh: u32(buf, o + 4),
        retry: u32(buf, o + 8),
        expire: u32(buf, o + 12),
        minimum: u32(buf, o + 16),
      };
    }
    case RRType.TXT: {
      const texts: string[] = [];
      let p = rdStart;
      if (len === 0) throw bad("TXT");
      while (p < rdEnd) {
        const l = buf[p]!;
        if (p + 1 + l > rdEnd) throw bad("TXT");
        texts.push(Buffer.from(buf.subarray(p + 1, p + 1 + l)).toString("latin1"));
        p += 1 + l;
      }
      return { name, class: klass, ttl, type: 16, texts };
    }
    default:
      return {
        name,
        class: klass,
        ttl,
        type: 0,
        rawType: type,
        rdata: new Uint8Array(buf.subarray(rdStart, rdEnd)),
      };
  }
}
