/**
 * The processes around the proxy in the benchmark, so that neither the backend nor the client
 * shares the proxy's event loop:
 *
 * - `backend <ip> <httpPort> <bulkPort>`: an HTTP server answering `ok` with keep-alive, and a
 *   bulk server: a connection whose first byte is `u` is drained and answered with the byte
 *   count; one whose first byte is `d` followed by a decimal size and `\n` gets that many bytes.
 * - `bulk <ip> <port> <up|down> <bytes>`: one bulk transfer; prints `{"mbps": …}`.
 * - `http <url> <connections> <seconds>`: keep-alive GET load; prints requests/s and latency.
 *
 * Prints `ready` once listening (backend mode) and exits when its stdin closes.
 *
 * @module
 */
import http from "node:http";
import net from "node:net";

const [mode, ...args] = process.argv.slice(2);

function backend(ip: string, httpPort: number, bulkPort: number): void {
  const body = Buffer.from("ok");
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  const bulk = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.once("readable", () => {
      const first = socket.read(1) as Buffer | null;
      if (first?.toString() === "u") {
        let n = 0;
        socket.on("data", (c: Buffer) => {
          n += c.length;
        });
        socket.on("end", () => socket.end(String(n)));
      } else {
        let header = "";
        const onData = (c: Buffer) => {
          header += c.toString();
          const nl = header.indexOf("\n");
          if (nl < 0) return;
          socket.removeListener("data", onData);
          sendBytes(socket, Number(header.slice(0, nl)));
        };
        socket.on("data", onData);
      }
    });
    socket.on("error", () => {});
  });
  let pending = 2;
  const up = () => {
    if (--pending === 0) process.stdout.write("ready\n");
  };
  server.listen(httpPort, ip, up);
  bulk.listen(bulkPort, ip, up);
}

function sendBytes(socket: net.Socket, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        socket.once("drain", pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

function bulkClient(ip: string, port: number, direction: string, total: number): void {
  const started = performance.now();
  const socket = net.connect({ host: ip, port, allowHalfOpen: true });
  let received = 0;
  let reply = "";
  socket.on("data", (c: Buffer) => {
    received += c.length;
    if (direction === "up") reply += c.toString();
  });
  socket.on("end", () => {
    const seconds = (performance.now() - started) / 1000;
    const bytes = direction === "up" ? Number(reply) : received;
    if (bytes !== total) throw new Error(`transferred ${bytes} of ${total} bytes`);
    process.stdout.write(`${JSON.stringify({ mbps: total / 1e6 / seconds })}\n`);
    socket.destroy();
  });
  socket.on("connect", () => {
    if (direction === "up") {
      socket.write("u");
      sendBytes(socket, total);
    } else {
      socket.write(`d${total}\n`);
    }
  });
}

async function httpLoad(url: string, connections: number, seconds: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve());
          })
          .on("error", reject);
      });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ rps: latencies.length / seconds, p50ms: at(0.5), p99ms: at(0.99) })}\n`,
  );
}

if (mode === "backend") {
  backend(args[0] ?? "", Number(args[1]), Number(args[2]));
  // The benchmark holds our stdin: when it goes away, however it ends, so do we.
  process.stdin.on("close", () => process.exit(0));
  process.stdin.resume();
} else if (mode === "bulk")
  bulkClient(args[0] ?? "", Number(args[1]), args[2] ?? "up", Number(args[3]));
else if (mode === "http") await httpLoad(args[0] ?? "", Number(args[1]), Number(args[2]));
else throw new Error(`unknown mode ${mode}`);
