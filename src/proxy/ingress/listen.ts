/**
 * Binding the ingress controller's two listeners: each on the first port of its list that can be
 * bound (80 then 8080 then any free port for HTTP; 443, 8443, any for HTTPS by default), so that
 * an unprivileged or crowded machine still gets an ingress, on ports `kubectl get ingress` shows.
 *
 * @module
 */
import type { Server } from "node:net";

/** Bind failures that mean "try the next port", not "this address is unusable". */
const NEXT_PORT = new Set(["EACCES", "EADDRINUSE", "EPERM"]);

function listenOnce(server: Server, ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.removeListener("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.removeListener("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host: ip, port, exclusive: true });
  });
}

/**
 * Listens on `ip` at the first port of `ports` that binds; resolves with that port. Rejects with
 * the last error when none does, or at once for an error no other port would fix.
 */
export async function listenFirst(
  server: Server,
  ip: string,
  ports: readonly number[],
): Promise<number> {
  let last: unknown;
  for (const port of ports) {
    try {
      return await listenOnce(server, ip, port);
    } catch (err) {
      last = err;
      if (!NEXT_PORT.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    }
  }
  throw last ?? new Error(`no port to listen on at ${ip}`);
}
