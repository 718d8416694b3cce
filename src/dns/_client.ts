/**
 * Raw DNS clients for tests: one UDP exchange, or TCP exchanges on one connection with
 * 2-byte framing. Only loopback addresses are ever used by the tests.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";

export function udpExchange(
  packet: Buffer,
  port: number,
  options: { host?: string; timeoutMs?: number } = {},
): Promise<Buffer | null> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(packet, port, host);
  });
}

/** Sends every packet on one TCP connection (optionally byte by byte) and collects answers. */
export function tcpExchange(
  packets: Buffer[],
  port: number,
  options: { host?: string; trickle?: boolean; timeoutMs?: number } = {},
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: options.host ?? "127.0.0.1", port });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP exchange timed out with ${out.length}/${packets.length} answers`));
    }, options.timeoutMs ?? 5000);
    sock.on("connect", () => {
      const framed = Buffer.concat(
        packets.map((p) => {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(p.length, 0);
          return Buffer.concat([len, p]);
        }),
      );
      if (!options.trickle) {
        sock.write(framed);
        return;
      }
      let i = 0;
      const step = () => {
        if (i >= framed.length) return;
        sock.write(framed.subarray(i, i + 1));
        i++;
        setImmediate(step);
      };
      step();
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === packets.length) {
        clearTimeout(timer);
        sock.end();
        resolve(out);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
