/**
 * Choosing the ports the host reaches a cluster on (the API server's, the DNS server's) and
 * naming who holds a port that is taken.
 *
 * A port the user asked for is used or refused with one sentence (which process holds it, when
 * it can be found, and which flag chooses another). A default port that is taken (by another
 * loopkube, say) or that needs privileges this process lacks is replaced by a free one, and the
 * log says so at info level, as kind picks a free port for its API server.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { describePortHolder, findPortHolder, type Transport } from "./holder.ts";
import { describeHolder, listLeases } from "./ranges.ts";

/** Whether this process may listen on `host:port` over UDP and TCP. */
export async function canBind(host: string, port: number): Promise<boolean> {
  return (await bindError("udp", host, port)) === undefined && canListen(host, port);
}

/** Whether this process may listen on `host:port` over TCP. */
export async function canListen(host: string, port: number): Promise<boolean> {
  return (await bindError("tcp", host, port)) === undefined;
}

/** Why `host:port` cannot be bound (`EADDRINUSE`, `EACCES`, …), or undefined when it can. */
export async function bindError(
  transport: Transport,
  host: string,
  port: number,
): Promise<string | undefined> {
  if (transport === "udp") {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", (err: NodeJS.ErrnoException) => {
        s.close();
        resolve(err.code ?? "EINVAL");
      });
      s.bind(port, host, () => s.close(() => resolve(undefined)));
    });
  }
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "EINVAL"));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/**
 * Who holds `host:port`, in words, best effort: a loopkube cluster of the address registry by
 * its name, pid and data dir, another process by its pid and command line.
 */
export function whoHolds(transport: Transport, host: string, port: number): string | undefined {
  const holder = findPortHolder(transport, host, port);
  if (holder === undefined) return undefined;
  // This process may run several clusters, one of them the one starting: name none.
  if (holder.pid === process.pid) return `this process (pid ${holder.pid})`;
  const clusters = listLeases().filter((l) => l.pid === holder.pid);
  if (clusters.length === 1 && clusters[0]) return `loopkube ${describeHolder(clusters[0])}`;
  if (clusters.length > 1) {
    const names = clusters.map((c) => `"${c.name}"`).join(", ");
    return `${describePortHolder(holder)}, which runs loopkube clusters ${names}`;
  }
  return describePortHolder(holder);
}

/**
 * The port to listen on: `wanted` when the user asked for it (its bind error, if any, is left to
 * the listener), else `fallback` when free, else 0 (a free one) with the reason logged.
 */
export async function choosePort(
  what: string,
  transport: Transport | "both",
  host: string,
  wanted: number | undefined,
  fallback: number,
  log: (message: string) => void,
): Promise<number> {
  if (wanted !== undefined) return wanted;
  let failed: Transport | undefined;
  let error: string | undefined;
  for (const t of transport === "both" ? (["udp", "tcp"] as const) : [transport]) {
    error = await bindError(t, host, fallback);
    if (error !== undefined) {
      failed = t;
      break;
    }
  }
  if (error === undefined || failed === undefined) return fallback;
  const why =
    error === "EADDRINUSE"
      ? `is in use${suffix(whoHolds(failed, host, fallback))}`
      : error === "EACCES"
        ? "needs privileges this process lacks"
        : `cannot be bound (${error})`;
  log(`${what} port ${fallback} on ${host} ${why}: using a free port instead`);
  return 0;
}

function suffix(holder: string | undefined): string {
  return holder ? ` by ${holder}` : "";
}
