/**
 * Encoding a {@link Message} into wire format with name compression, optionally truncated to a
 * size limit. Truncation removes whole records from the end (answer, then authority, then
 * additional; whatever no longer fits and everything after it) and sets TC; the OPT record is
 * always kept. Owner names and NS/CNAME/PTR/SOA names are compressed case-sensitively (as
 * written); SRV targets are written in full (RFC 2782) but may be pointed to.
 *
 * @module
 */
import { HEADER_SIZE, MAX_LABEL, RRType } from "./constants.ts";
import { WireError } from "./errors.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";
import type { Message, ResourceRecord } from "./message.ts";
import { labelToText, nameToLabels } from "./name.ts";

export interface EncodeOptions {
  /** Largest message to produce; records that do not fit are dropped and TC set. */
  maxSize?: number;
}

export interface Encoded {
  bytes: Buffer;
  truncated: boolean;
  /** Offsets of the 4-byte serial of each SOA written, so a cached copy can be re-stamped. */
  serialOffsets: number[];
}

const MAX_MESSAGE = 65535;
/** One scratch buffer: encoding is synchronous, so calls never overlap. */
const scratch = Buffer.allocUnsafe(MAX_MESSAGE);

class Writer {
  readonly buf = scratch;
  pos = 0;
  readonly compression = new Map<string, number>();
  readonly added: string[] = [];
  readonly serialOffsets: number[] = [];

  ensure(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new WireError("too-large", "message exceeds 65535 bytes");
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  name(text: string, compress: boolean): void {
    // Hot path: the whole name was written before (every owner of a large answer). A key without
    // a backslash is its own presentation form, so an exact hit is the same name.
    if (compress && text.indexOf("\\") < 0) {
      const at = this.compression.get(text.endsWith(".") ? text.slice(0, -1) : text);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
    }
    const labels = nameToLabels(text);
    const texts = labels.map(labelToText);
    for (let i = 0; i < labels.length; i++) {
      const suffix = i === 0 ? texts.join(".") : texts.slice(i).join(".");
      const at = this.compression.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (at === undefined && this.pos < 0x3fff) {
        this.compression.set(suffix, this.pos);
        this.added.push(suffix);
      }
      const l = labels[i]!;
      if (l.length > MAX_LABEL) throw new WireError("label-too-long", "label longer than 63 bytes");
      this.ensure(1 + l.length);
      this.buf[this.pos++] = l.length;
      for (let k = 0; k < l.length; k++) this.buf[this.pos++] = l.charCodeAt(k);
    }
    this.u8(0);
  }

  mark(): { pos: number; added: number; serials: number } {
    return { pos: this.pos, added: this.added.length, serials: this.serialOffsets.length };
  }

  rollback(m: { pos: number; added: number; serials: number }): void {
    this.pos = m.pos;
    while (this.added.length > m.added) this.compression.delete(this.added.pop()!);
    this.serialOffsets.length = m.serials;
  }
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(rr.type === 0 ? rr.rawType : rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const lenAt = w.pos;
  w.u16(0);
  const start = w.pos;
  switch (rr.type) {
    case RRType.A: {
      const b = parseIPv4(rr.address);
      if (!b) throw new WireError("bad-address", `not an IPv4 address: ${rr.address}`);
      w.bytes(b);
      break;
    }
    case RRType.AAAA: {
      const b = parseIPv6(rr.address);
      if (!b) throw new WireError("bad-address", `not an IPv6 address: ${rr.address}`);
      w.bytes(b);
      break;
    }
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      w.name(rr.target, true);
      break;
    case RRType.SRV:
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      w.name(rr.target, false);
      break;
    case RRType.TXT:
      for (const t of rr.texts) {
        const b = Buffer.from(t, "latin1");
        if (b.length > 255) throw new WireError("bad-rdata", "TXT string longer than 255 bytes");
        w.u8(b.length);
        w.bytes(b);
      }
      break;
    case RRType.SOA:
      w.name(rr.mname, true);
      w.name(rr.rname, true);
      w.serialOffsets.push(w.pos);
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
    default:
      w.bytes(rr.rdata);
  }
  w.buf.writeUInt16BE(w.pos - start, lenAt);
}

function optLength(msg: Message): number {
  if (!msg.edns) return 0;
  let n = 11;
  for (const o of msg.edns.options) n += 4 + o.data.length;
  return n;
}

export function encodeMessage(msg: Message, options: EncodeOptions = {}): Encoded {
  const limit = Math.min(options.maxSize ?? MAX_MESSAGE, MAX_MESSAGE);
  const w = new Writer();
  const h = msg.header;
  w.u16(h.id);
  w.pos = HEADER_SIZE;
  for (const q of msg.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  const recordLimit = limit - optLength(msg);
  const sections = [msg.answers, msg.authorities, msg.additionals];
  const written = [0, 0, 0];
  let truncated = false;
  for (let s = 0; s < 3 && !truncated; s++) {
    for (const rr of sections[s]!) {
      const m = w.mark();
      writeRecord(w, rr);
      if (w.pos > recordLimit) {
        w.rollback(m);
        truncated = true;
        break;
      }
      written[s]!++;
    }
  }
  let arcount = written[2]!;
  if (msg.edns) {
    const e = msg.edns;
    w.u8(0);
    w.u16(RRType.OPT);
    w.u16(e.udpSize);
    const extRcode = (h.rcode >> 4) & 0xff;
    w.u32(((extRcode << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0)) >>> 0);
    let olen = 0;
    for (const o of e.options) olen += 4 + o.data.length;
    w.u16(olen);
    for (const o of e.options) {
      w.u16(o.code);
      w.u16(o.data.length);
      w.bytes(o.data);
    }
    arcount++;
  }
  const tc = h.tc || truncated;
  const flags =
    (h.qr ? 0x8000 : 0) |
    ((h.opcode & 0xf) << 11) |
    (h.aa ? 0x0400 : 0) |
    (tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.z ? 0x0040 : 0) |
    (h.ad ? 0x0020 : 0) |
    (h.cd ? 0x0010 : 0) |
    (h.rcode & 0xf);
  w.buf.writeUInt16BE(h.id & 0xffff, 0);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(msg.questions.length, 4);
  w.buf.writeUInt16BE(written[0]!, 6);
  w.buf.writeUInt16BE(written[1]!, 8);
  w.buf.writeUInt16BE(arcount, 10);
  return {
    bytes: Buffer.from(w.buf.subarray(0, w.pos)),
    truncated,
    serialOffsets: w.serialOffsets,
  };
}
