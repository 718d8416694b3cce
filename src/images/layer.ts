/**
 * Opens a layer blob as an uncompressed tar stream, whatever it is compressed with: gzip (zlib),
 * zstd (fzstd: Node 20 has no zstd) or nothing, told apart by their magic bytes rather than by
 * the media type (registries and `docker save` are not always truthful about it).
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { type Readable, Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

export type Compression = "gzip" | "zstd" | "none";

export async function sniffCompression(file: string): Promise<Compression> {
  const fh = await open(file, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    await fh.close();
  }
}

/** A Transform that decompresses a zstd stream (one or more frames). */
export function createZstdDecompress(): Transform {
  let decoder: Decompress;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        decoder.push(chunk);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
  decoder = new Decompress((data) => {
    t.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return t;
}

/** The layer's tar bytes: `[source, …decompressors]`, to be piped in order. */
export async function openLayer(file: string): Promise<Readable[]> {
  const kind = await sniffCompression(file);
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  if (kind === "gzip") return [source, createGunzip()];
  if (kind === "zstd") return [source, createZstdDecompress()];
  return [source];
}
