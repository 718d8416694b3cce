/**
 * The health-check node port of a LoadBalancer Service with `externalTrafficPolicy: Local`, as
 * kube-proxy serves it (pkg/proxy/healthcheck): any HTTP request gets 200 when this node has a
 * ready endpoint of the Service and 503 otherwise, with a JSON body naming the Service and the
 * count of distinct local ready endpoint IPs. Load balancers use it to send traffic only to nodes
 * that can serve it locally.
 *
 * @module
 */
import http from "node:http";
import { BindError } from "./_listen.ts";

export interface HealthCheckServer {
  setLocalEndpoints(count: number): void;
  close(): Promise<void>;
}

/** The body kube-proxy writes (its dedented template, tab-indented). */
export function healthCheckBody(
  svc: { namespace: string; name: string },
  localEndpoints: number,
  proxyHealthy: boolean,
): string {
  return [
    "{",
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(svc.namespace)},`,
    `\t\t"name": ${JSON.stringify(svc.name)}`,
    "\t},",
    `\t"localEndpoints": ${localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    "}",
  ].join("\n");
}

export async function listenHealthCheck(
  bind: { ip: string; port: number },
  svc: { namespace: string; name: string },
): Promise<HealthCheckServer> {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader("Content-Type", "application/json");
    res.setHeader("X-Content-Type-Options", "nosniff");
    // This proxy is healthy whenever it is answering: its state is updated synchronously.
    res.writeHead(count > 0 ? 200 : 503);
    res.end(healthCheckBody(svc, count, true));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new BindError(`TCP ${bind.ip}:${bind.port}`, err));
    server.once("error", onError);
    server.listen({ host: bind.ip, port: bind.port, exclusive: true }, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
  server.on("error", () => {
    // A failed accept concerns one probe; the next one tries again.
  });
  return {
    setLocalEndpoints: (n) => {
      count = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
