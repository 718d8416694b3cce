/**
 * A fake upstream resolver for forwarding tests, on a loopback address: answers
 * `<anything>` A with 192.0.2.1, and for names starting with `big.` sends a truncated UDP
 * answer and the full 100-record answer over TCP. Counts what it received per transport.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { decodeMessage } from "./wire/decode.ts";
import { encodeMessage } from "./wire/encode.ts";
import type { Message, ResourceRecord } from "./wire/message.ts";

export interface FakeUpstream {
  host: string;
  port: number;
  udpQueries: number;
  tcpQueries: number;
  close(): Promise<void>;
}

function reply(packet: Buffer, tcp: boolean): Buffer {
  const q = decodeMessage(packet).message;
  const name = q.questions[0]!.name;
  const r: Message = { ...q, header: { ...q.header, qr: true, ra: true }, answers: [] };
  delete r.edns;
  if (name.startsWith("big.")) {
    if (!tcp) {
      r.header.tc = true;
      return encodeMessage(r).bytes;
    }
    r.answers = Array.from(
      { length: 100 },
      (_, i): ResourceRecord => ({ name, type: 1, class: 1, ttl: 60, address: `192.0.2.${i + 1}` }),
    );
    return encodeMessage(r).bytes;
  }
  if (name.startsWith("silent.")) return Buffer.alloc(0);
  r.answers = [{ name, type: 1, class: 1, ttl: 60, address: "192.0.2.1" }];
  return encodeMessage(r).bytes;
}

export async function startFakeUpstream(host = "127.0.0.53"): Promise<FakeUpstream> {
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, host, resolve));
  const port = udp.address().port;
  const state: FakeUpstream = {
    host,
    port,
    udpQueries: 0,
    tcpQueries: 0,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
  udp.on("message", (m, rinfo) => {
    state.udpQueries++;
    const out = reply(m, false);
    if (out.length > 0) udp.send(out, rinfo.port, rinfo.address);
  });
  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        state.tcpQueries++;
        const out = reply(buf.subarray(2, 2 + buf.readUInt16BE(0)), true);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length, 0);
        sock.write(Buffer.concat([len, out]));
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(port, host, resolve));
  return state;
}
