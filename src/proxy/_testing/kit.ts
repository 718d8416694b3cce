/**
 * Builders for the Service and EndpointSlice objects the proxy tests feed in. Test-only.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import type { Service, ServicePort } from "kubernetes-types/core/v1.js";
import type { Endpoint, EndpointSlice } from "kubernetes-types/discovery/v1.js";

export function service(
  name: string,
  spec: Service["spec"] & { ports?: ServicePort[] },
  namespace = "default",
): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name }, spec };
}

export function endpoint(
  ip: string,
  conditions: Endpoint["conditions"] = { ready: true, serving: true, terminating: false },
  nodeName = "node-a",
): Endpoint {
  return { addresses: [ip], conditions, nodeName };
}

export function slice(
  name: string,
  serviceName: string,
  ports: { name?: string; port: number; protocol?: string }[],
  endpoints: Endpoint[],
  options: { namespace?: string; addressType?: string } = {},
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      namespace: options.namespace ?? "default",
      name,
      labels: { "kubernetes.io/service-name": serviceName },
    },
    addressType: options.addressType ?? "IPv4",
    ports,
    endpoints,
  };
}

let counter = Math.floor(Math.random() * 200);

/**
 * A loopback address not used by any other test in this run: `prefix` is the first two octets
 * (e.g. 127.96); the last two come from a per-process random start and a counter.
 */
export function freshIp(prefix: string): string {
  counter++;
  return `${prefix}.${(process.pid % 200) + 20}.${(counter % 250) + 2}`;
}

/** A random port in the NodePort range, which the kernel never hands out as ephemeral. */
export function freshNodePort(): number {
  return 30000 + Math.floor(Math.random() * 2767);
}

export interface Backend {
  ip: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A TCP server on ip:port running `onConnection`; default: write `name` and end. */
export async function startBackend(
  ip: string,
  port: number,
  onConnection: (socket: net.Socket) => void = (s) => s.end(ip),
): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const backend: Backend = {
    ip,
    port,
    accepted: 0,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: ip, port }, () => resolve());
  });
  return backend;
}

/** Connects, reads until the peer ends, returns the text; rejects with the socket error. */
export function fetchText(
  ip: string,
  port: number,
  options: { localAddress?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: ip, port, ...options });
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", reject);
    s.on("end", () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Opens a TCP connection and resolves once it is established. */
export function connect(ip: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ip, port, allowHalfOpen: true });
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Resolves with the next chunk the socket reads. */
export function nextData(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once("data", (c: Buffer) => resolve(c.toString()));
    s.once("error", reject);
  });
}

export async function startUdpEcho(ip: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  s.on("message", (msg, rinfo) =>
    s.send(Buffer.concat([Buffer.from(`${ip}:`), msg]), rinfo.port, rinfo.address),
  );
  await new Promise<void>((resolve) => s.bind(port, ip, () => resolve()));
  return s;
}
