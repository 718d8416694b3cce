import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { describe, it } from "node:test";
import { ForwardingReader, READ_BUFFER_BYTES } from "./_reader.ts";

/** A connected pair on loopback: `a` is ours, `b` the peer. */
async function pair(): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const a = net.connect(port, "127.0.0.1");
  const b = await accepted;
  await new Promise((r) => (a.connecting ? a.once("connect", r) : r(undefined)));
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

describe("ForwardingReader", () => {
  it("never reads into a buffer whose bytes are still being written", async () => {
    const { a: sink, b: peer, close } = await pair();
    peer.pause(); // the peer reads nothing yet: the sink's writes must go asynchronous
    const reader = new ForwardingReader();
    reader.attach(new net.Socket(), sink);
    const sent = createHash("sha256");
    const chunks = 512; // 32 MiB, far beyond what the kernel buffers
    let asyncWrites = 0;
    let total = 0;
    for (let i = 0; i < chunks; i++) {
      // As Node does: ask for the buffer of the next read, read into it, report it.
      const buf = reader.onread.buffer();
      buf.fill(i % 251);
      sent.update(buf);
      total += buf.length;
      reader.onread.callback(buf.length, buf);
      if (sink.writableLength > 0) asyncWrites++;
    }
    assert.ok(asyncWrites > 0, "the test must make writes asynchronous");
    const received = createHash("sha256");
    let bytes = 0;
    await new Promise<void>((resolve) => {
      peer.on("data", (c: Buffer) => {
        received.update(c);
        bytes += c.length;
        if (bytes === total) resolve();
      });
      peer.resume();
    });
    assert.equal(received.digest("hex"), sent.digest("hex"));
    close();
  });

  it("grows its buffer on full reads up to the largest size", () => {
    const reader = new ForwardingReader();
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const buf = reader.onread.buffer();
      sizes.push(buf.length);
      reader.onread.callback(buf.length, buf); // no sink yet: queued
    }
    assert.deepEqual(sizes, [4096, 8192, 16384, 32768, 65536, 65536]);
    assert.equal(sizes.at(-1), READ_BUFFER_BYTES);
  });

  it("queues bytes read before a sink is attached", async () => {
    const { a: sink, b: peer, close } = await pair();
    const reader = new ForwardingReader();
    const buf = reader.onread.buffer();
    buf.write("early");
    reader.onread.callback(5, buf);
    buf.write("XXXXX"); // the reader must have copied
    reader.attach(new net.Socket(), sink);
    const got = await new Promise<string>((r) => peer.once("data", (c: Buffer) => r(c.toString())));
    assert.equal(got, "early");
    close();
  });
});
