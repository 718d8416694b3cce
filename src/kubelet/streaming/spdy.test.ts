import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { constants, createDeflate, createInflate } from "node:zlib";
import {
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FrameReader,
  HeaderCodec,
  pingFrame,
  SPDY,
  streamIdOf,
  synReplyFrame,
} from "./spdy.ts";
import { SPDY_DICTIONARY } from "./spdy_dictionary.ts";

test("the SPDY/3 dictionary is the spec's 1423 bytes", () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(
    createHash("sha256").update(SPDY_DICTIONARY).digest("hex"),
    "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02",
  );
});

test("FrameReader reassembles frames from any chunking", () => {
  const bytes = Buffer.concat([
    dataFrame(1, Buffer.from("hello"), true),
    pingFrame(7),
    dataFrame(3, Buffer.alloc(0)),
  ]);
  for (const size of [1, 3, 8, bytes.length]) {
    const r = new FrameReader();
    const frames = [];
    for (let i = 0; i < bytes.length; i += size)
      frames.push(...r.push(bytes.subarray(i, i + size)));
    assert.equal(frames.length, 3, `chunks of ${size}`);
    assert.deepEqual(frames[0], {
      control: false,
      streamId: 1,
      flags: SPDY.flagFin,
      data: Buffer.from("hello"),
    });
    const ping = frames[1];
    assert.ok(ping?.control);
    assert.equal(ping.type, SPDY.ping);
    assert.equal(ping.data.readUInt32BE(0), 7);
    assert.equal(frames[2]?.control, false);
  }
});

test("control frames carry version 3, type, flags and a 24-bit length", () => {
  const f = controlFrame(SPDY.synReply, SPDY.flagFin, Buffer.from([0, 0, 0, 5]));
  assert.deepEqual([...f.subarray(0, 8)], [0x80, 3, 0, 2, 1, 0, 0, 4]);
  assert.equal(streamIdOf(synReplyFrame(5, Buffer.alloc(0)).subarray(8)), 5);
});

test("header blocks round-trip with lower-cased names and the first of several values", () => {
  const block = encodeHeaderBlock({ streamType: "data", Port: "8080" });
  assert.deepEqual(decodeHeaderBlock(block), { streamtype: "data", port: "8080" });
  const multi = encodeHeaderBlock({ a: "x\0y" });
  assert.deepEqual(decodeHeaderBlock(multi), { a: "x" });
});

/** A peer's zlib stream with the dictionary: what Go's SPDY framer does on its side. */
function peer(kind: "inflate" | "deflate") {
  const z =
    kind === "inflate"
      ? createInflate({ dictionary: SPDY_DICTIONARY })
      : createDeflate({ dictionary: SPDY_DICTIONARY });
  return (input: Buffer) =>
    new Promise<Buffer>((resolve) => {
      z.write(input);
      z.flush(constants.Z_SYNC_FLUSH, () => {
        const out: Buffer[] = [];
        for (let c = z.read() as Buffer | null; c !== null; c = z.read()) out.push(c);
        resolve(Buffer.concat(out));
      });
    });
}

test("HeaderCodec keeps one zlib context per direction across blocks", async () => {
  const codec = new HeaderCodec();
  const client = { deflate: peer("deflate"), inflate: peer("inflate") };
  try {
    for (const port of ["8080", "9090"]) {
      const sent = await client.deflate(encodeHeaderBlock({ streamtype: "error", port }));
      assert.deepEqual(await codec.decode(sent), { streamtype: "error", port });
      const reply = await codec.encode({});
      assert.deepEqual(decodeHeaderBlock(await client.inflate(reply)), {});
    }
  } finally {
    codec.close();
  }
});
