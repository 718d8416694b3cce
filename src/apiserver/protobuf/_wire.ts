/**
 * A minimal protobuf wire-format reader: tags, varints, length-delimited slices and the skipping
 * of fixed32/fixed64 values, over one Uint8Array window. Every read checks bounds first and
 * throws {@link WireError} on truncated or malformed input, so random bytes can never make it
 * read past its window, loop forever or allocate more than the input's size.
 *
 * Varints are read as 64-bit two's complement (`bigint`), as proto2 encodes negative int32 and
 * int64 values in ten bytes.
 *
 * @module
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** Malformed protobuf input; the message follows gogo-protobuf's wording where one exists. */
export class WireError extends Error {
  override readonly name = "WireError";
}

export interface Tag {
  field: number;
  wireType: number;
}

export class WireReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint as an unsigned 64-bit value; more than ten bytes is an overflow. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new WireError("unexpected EOF");
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new WireError("proto: integer overflow");
  }

  /** A varint that must fit a non-negative JavaScript number (lengths, tags). */
  smallVarint(): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError("proto: integer overflow");
    return Number(v);
  }

  tag(): Tag {
    const key = this.smallVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field <= 0 || field > 0x1fffffff) {
      throw new WireError(`proto: illegal tag ${field} (wire type ${wireType})`);
    }
    return { field, wireType };
  }

  /** The bounds of a length-delimited value, which the reader steps over. */
  bytes(): { start: number; end: number } {
    const len = this.smallVarint();
    if (len > this.end - this.pos) throw new WireError("unexpected EOF");
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  fixed64(): DataView {
    return this.fixed(8);
  }

  fixed32(): DataView {
    return this.fixed(4);
  }

  private fixed(size: number): DataView {
    if (size > this.end - this.pos) throw new WireError("unexpected EOF");
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, size);
    this.pos += size;
    return view;
  }

  /** Steps over one value of the given wire type. Groups (3, 4) are not used by Kubernetes. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed(8);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.fixed(4);
        return;
      default:
        throw new WireError(`proto: illegal wireType ${wireType}`);
    }
  }

  /** A reader over a sub-range of the same buffer (an embedded message). */
  sub(range: { start: number; end: number }): WireReader {
    return new WireReader(this.buf, range.start, range.end);
  }

  slice(range: { start: number; end: number }): Uint8Array {
    return this.buf.subarray(range.start, range.end);
  }
}
