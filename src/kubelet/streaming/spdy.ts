/**
 * Just enough SPDY/3.1 (the framing Kubernetes' port-forward speaks, here tunneled inside a
 * WebSocket) for the server side of a connection: a frame reader over a byte stream, frame
 * builders, and the name/value header blocks, compressed with zlib and the SPDY dictionary —
 * one zlib stream per direction for the whole connection, each block ending on a sync flush.
 *
 * Frames: control frames (`1 | version 3 | type`, flags, 24-bit length) — SYN_STREAM 1,
 * SYN_REPLY 2, RST_STREAM 3, SETTINGS 4, PING 6, GOAWAY 7, HEADERS 8, WINDOW_UPDATE 9 — and data
 * frames (`0 | stream id`, flags, length). Flag FIN (1) half-closes a stream.
 *
 * Header blocks are order-preserving: the zlib streams are stateful, so `HeaderCodec` runs one
 * block at a time, in call order.
 *
 * @module
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import { SPDY_DICTIONARY } from "./spdy_dictionary.ts";

export const SPDY = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  headers: 8,
  windowUpdate: 9,
  flagFin: 1,
} as const;

export type Frame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/** Splits a byte stream into frames; feed it bytes as they come, in any chunking. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buf.length >= 8) {
      const length = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + length) break;
      const flags = this.buf[4] ?? 0;
      const data = this.buf.subarray(8, 8 + length);
      const first = this.buf.readUInt32BE(0);
      if (first & 0x80000000) frames.push({ control: true, type: first & 0xffff, flags, data });
      else frames.push({ control: false, streamId: first & 0x7fffffff, flags, data });
      this.buf = this.buf.subarray(8 + length);
    }
    return frames;
  }
}

function header(first: number, flags: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(first >>> 0, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | (length & 0xffffff), 4);
  return h;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([header((0x8000 | 3) * 0x10000 + type, flags, payload.length), payload]);
}

export function dataFrame(streamId: number, payload: Buffer, fin = false): Buffer {
  return Buffer.concat([
    header(streamId & 0x7fffffff, fin ? SPDY.flagFin : 0, payload.length),
    payload,
  ]);
}

const u32 = (...values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
};

export function synReplyFrame(streamId: number, compressedHeaders: Buffer, fin = false): Buffer {
  return controlFrame(
    SPDY.synReply,
    fin ? SPDY.flagFin : 0,
    Buffer.concat([u32(streamId & 0x7fffffff), compressedHeaders]),
  );
}

/** RST_STREAM with a status code (5 CANCEL, 1 PROTOCOL_ERROR, …). */
export function rstStreamFrame(streamId: number, status: number): Buffer {
  return controlFrame(SPDY.rstStream, 0, u32(streamId & 0x7fffffff, status));
}

export function pingFrame(id: number): Buffer {
  return controlFrame(SPDY.ping, 0, u32(id));
}

export function goawayFrame(lastStreamId: number, status = 0): Buffer {
  return controlFrame(SPDY.goaway, 0, u32(lastStreamId & 0x7fffffff, status));
}

/** The stream id of a SYN_STREAM, RST_STREAM, HEADERS or WINDOW_UPDATE frame. */
export const streamIdOf = (data: Buffer): number => (data.readUInt32BE(0) & 0x7fffffff) >>> 0;

/** The compressed header block of a SYN_STREAM (after stream ids, priority and slot). */
export const synStreamHeaders = (data: Buffer): Buffer => data.subarray(10);

/** Encodes an uncompressed name/value block; names are lower-cased as SPDY requires. */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed name/value block; several values of one name are NUL-separated. */
export function decodeHeaderBlock(block: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  const take = () => {
    const len = block.readUInt32BE(at);
    const s = block.subarray(at + 4, at + 4 + len).toString("utf8");
    at += 4 + len;
    return s;
  };
  const count = block.readUInt32BE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    const name = take();
    out[name] = take().split("\0")[0] ?? "";
  }
  return out;
}

/** Runs chunks through one zlib stream, one at a time, each ending on a sync flush. */
class ZStream {
  private chain: Promise<unknown> = Promise.resolve();
  constructor(private readonly z: Deflate | Inflate) {
    z.on("error", () => {});
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          this.z.once("error", onError);
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.z.off("error", onError);
            const out: Buffer[] = [];
            for (let c = this.z.read() as Buffer | null; c !== null; c = this.z.read()) out.push(c);
            resolve(Buffer.concat(out));
          });
        }),
    );
    this.chain = next.catch(() => {});
    return next;
  }

  close(): void {
    this.z.destroy();
  }
}

/** The two header-compression contexts of one SPDY connection. */
export class HeaderCodec {
  private readonly inflater = new ZStream(createInflate({ dictionary: SPDY_DICTIONARY }));
  private readonly deflater = new ZStream(createDeflate({ dictionary: SPDY_DICTIONARY }));

  async decode(compressed: Buffer): Promise<Record<string, string>> {
    return decodeHeaderBlock(await this.inflater.run(compressed));
  }

  encode(headers: Record<string, string>): Promise<Buffer> {
    return this.deflater.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.inflater.close();
    this.deflater.close();
  }
}
