/**
 * Probing whether this process may listen on an address: the DNS port defaults to 53 only when
 * both UDP and TCP can bind it (root, or CAP_NET_BIND_SERVICE, or a lowered
 * `net.ipv4.ip_unprivileged_port_start`), else a free high port is used.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";

export async function canBind(host: string, port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
