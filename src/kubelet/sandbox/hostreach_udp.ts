/**
 * The UDP half of hostreach.ts: a host socket bound to `<pod IP>:<port>` whose datagrams travel
 * into the pod through a socket `dialUdp` makes in the node namespace (connected to the pod's
 * address), one such flow per client address and port, so that every answer the pod sends comes
 * back to that client from `<pod IP>:<port>`, as it would from the pod itself. A flow ends after
 * `idleMs` (30 s, conntrack's UDP timeout) without a datagram either way.
 *
 * @module
 */
import dgram from "node:dgram";

export interface UdpReach {
  close(): void;
}

/** Binds `ip:port` on the host; rejects with the bind error (`EACCES`, `EADDRINUSE`, …). */
export function listenUdpReach(
  at: { ip: string; port: number },
  o: { dialUdp(ip: string, port: number): Promise<dgram.Socket>; idleMs?: number },
): Promise<UdpReach> {
  const idleMs = o.idleMs ?? 30_000;
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
  type Flow = { inner?: dgram.Socket; pending: Buffer[]; timer: NodeJS.Timeout; ended: boolean };
  const flows = new Map<string, Flow>();
  let closed = false;
  const end = (key: string, f: Flow) => {
    if (f.ended) return;
    f.ended = true;
    clearTimeout(f.timer);
    if (flows.get(key) === f) flows.delete(key);
    f.inner?.close();
  };
  const open = (key: string, client: dgram.RemoteInfo): Flow => {
    const f: Flow = { pending: [], ended: false, timer: setTimeout(() => end(key, f), idleMs) };
    flows.set(key, f);
    o.dialUdp(at.ip, at.port).then(
      (inner) => {
        if (f.ended || closed) return inner.close();
        f.inner = inner;
        inner.on("error", () => end(key, f));
        inner.on("message", (data) => {
          f.timer.refresh();
          if (!closed) socket.send(data, client.port, client.address);
        });
        for (const d of f.pending) inner.send(d);
        f.pending = [];
      },
      () => end(key, f),
    );
    return f;
  };
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: at.ip, port: at.port, exclusive: true }, () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      socket.on("message", (data, client) => {
        const key = `${client.address}:${client.port}`;
        const f = flows.get(key) ?? open(key, client);
        f.timer.refresh();
        if (f.inner) f.inner.send(data);
        else if (f.pending.length < 256) f.pending.push(data);
      });
      resolve({
        close() {
          if (closed) return;
          closed = true;
          for (const [key, f] of flows) end(key, f);
          socket.close();
        },
      });
    });
  });
}
