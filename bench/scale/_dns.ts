/**
 * A minimal DNS client for the scale bench: one A query over UDP or over TCP (a new connection
 * per query, as `dig +tcp` does), answering the rcode and the number of answer records.
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";

export interface DnsAnswer {
  rcode: number;
  answers: number;
  truncated: boolean;
}

function query(name: string, id: number): Buffer {
  const labels = name.split(".").filter(Boolean);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  return Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]); // A, IN
}

function parse(msg: Buffer): DnsAnswer {
  const flags = msg.readUInt16BE(2);
  return { rcode: flags & 0xf, answers: msg.readUInt16BE(6), truncated: (flags & 0x200) !== 0 };
}

export function queryUdp(server: { host: string; port: number }, name: string): Promise<DnsAnswer> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`UDP query ${name}: timeout`));
    }, 5000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(parse(m));
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      s.close();
      reject(e);
    });
    s.send(query(name, 4242), server.port, server.host);
  });
}

export function queryTcp(server: { host: string; port: number }, name: string): Promise<DnsAnswer> {
  return new Promise((resolve, reject) => {
    const q = query(name, 4343);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    const sock = connect(server.port, server.host, () => sock.write(Buffer.concat([len, q])));
    let buf = Buffer.alloc(0);
    sock.setTimeout(5000, () => sock.destroy(new Error(`TCP query ${name}: timeout`)));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.end();
        resolve(parse(buf.subarray(2)));
      }
    });
    sock.on("error", reject);
  });
}
