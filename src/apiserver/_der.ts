/**
 * A minimal ASN.1 DER encoder (X.690), and a reader just deep enough to walk a certificate.
 *
 * Contract: every encoder returns the complete TLV (tag, length, content) as a Buffer, in DER's
 * one canonical form: definite lengths in the fewest bytes, INTEGERs without redundant leading
 * bytes, BOOLEAN true as 0xFF, BIT STRINGs with an explicit unused-bit count, SET OF sorted by
 * encoding, times in UTC with whole seconds. It covers what X.509 certificate creation needs and
 * nothing more: no REAL, no indefinite lengths, no negative INTEGERs (a certificate has none).
 *
 * @module
 */

/** Universal tags used by X.509 (X.690 §8, X.680 §8.4); constructed ones carry bit 0x20. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A value DER cannot represent, or input that is not DER. */
export class DerError extends Error {
  override name = "DerError";
}

/** One TLV: the tag byte, the content's length in DER's shortest form, then the content. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items));
}

/** SET OF: DER orders the elements by their encodings (X.690 §11.6). */
export function set(...items: Uint8Array[]): Buffer {
  const sorted = [...items].sort((a, b) => Buffer.compare(a, b));
  return tlv(TAG.set, Buffer.concat(sorted));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.null, Buffer.alloc(0));
}

/**
 * A non-negative INTEGER, from a bigint or from big-endian unsigned bytes (a serial number). A
 * 0x00 byte is prepended when the top bit is set, so the value stays positive in two's complement.
 */
export function integer(value: bigint | number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else {
    let n = BigInt(value);
    if (n < 0n) throw new DerError("negative INTEGERs are not supported");
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Buffer.from(out);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.integer, bytes);
}

/** OBJECT IDENTIFIER from dotted form: first two arcs packed in one, then base-128 arcs. */
export function oid(dotted: string): Buffer {
  if (!/^[0-2](\.\d+)+$/.test(dotted)) throw new DerError(`not an OID: ${dotted}`);
  const arcs = dotted.split(".").map((a) => BigInt(a));
  const [first = 0n, second = 0n, ...rest] = arcs;
  if (first < 2n && second > 39n) throw new DerError(`not an OID: ${dotted}`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) group.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...group);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** BIT STRING of whole bytes (a public key, a signature): zero unused bits. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), bytes]));
}

/**
 * A named-bit BIT STRING (keyUsage): bit 0 is the most significant bit of the first byte, and
 * DER drops trailing zero bits (X.690 §11.2.2), so the unused-bit count follows from the last set
 * bit.
 */
export function namedBits(bits: number[]): Buffer {
  if (bits.length === 0) return tlv(TAG.bitString, Buffer.from([0]));
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const bit of bits) {
    const i = Math.floor(bit / 8);
    bytes[i] = (bytes[i] ?? 0) | (0x80 >> (bit % 8));
  }
  const unused = 7 - (top % 8);
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.octetString, bytes);
}

export function utf8String(text: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(text, "utf8"));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function printableString(text: string): Buffer {
  if (!PRINTABLE.test(text)) throw new DerError(`not a PrintableString: ${JSON.stringify(text)}`);
  return tlv(TAG.printableString, Buffer.from(text, "latin1"));
}

/**
 * A DirectoryString for a name attribute: PrintableString when every character allows it, else
 * UTF8String — the choice earlier loopkube certificates made, so names encode the same bytes.
 */
export function directoryString(text: string): Buffer {
  return PRINTABLE.test(text) ? printableString(text) : utf8String(text);
}

/** UTCTime `YYMMDDHHMMSSZ`; valid for the years 1950–2049 only. */
export function utcTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new DerError(`UTCTime cannot hold the year ${year}`);
  return tlv(TAG.utcTime, Buffer.from(`${timeDigits(date).slice(2)}Z`, "latin1"));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ`, whole seconds (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(date: Date): Buffer {
  return tlv(TAG.generalizedTime, Buffer.from(`${timeDigits(date)}Z`, "latin1"));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function timeDigits(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new DerError("invalid date");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new DerError(`year ${year} has no four-digit form`);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    String(year).padStart(4, "0") +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds())
  );
}

/** `[n]` EXPLICIT: a constructed context tag wrapping one complete encoding. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  return tlv(0xa0 | n, inner);
}

/** `[n]` IMPLICIT on a primitive type: the context tag replaces the universal one. */
export function implicit(n: number, content: Uint8Array): Buffer {
  return tlv(0x80 | n, content);
}

/** One decoded TLV inside `source`: content is `source.subarray(start, end)`. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  offset: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** Decodes the TLV at `offset`; throws {@link DerError} on a truncated or indefinite length. */
export function readTlv(source: Uint8Array, offset = 0): Tlv {
  const tag = source[offset];
  const first = source[offset + 1];
  if (tag === undefined || first === undefined) throw new DerError("truncated DER");
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
  let start = offset + 2;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = source[start + i];
      if (b === undefined) throw new DerError("truncated DER");
      length = length * 256 + b;
    }
    start += count;
  }
  const end = start + length;
  if (end > source.length) throw new DerError("truncated DER");
  return { tag, offset, start, end };
}

/** The TLVs directly inside a constructed value. */
export function children(source: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(source, at);
    if (child.end > parent.end) throw new DerError("child overruns its parent");
    out.push(child);
    at = child.end;
  }
  return out;
}
