// A tiny HTTP server for the quickstart: binds the pod's own IP (POD_IP, from the downward API)
// on PORT and answers every request with the pod's name. /healthz serves the readiness probe.
import { createServer } from "node:http";

const host = process.env.POD_IP || "127.0.0.1";
const port = Number(process.env.PORT || 8080);
const name = process.env.POD_NAME || "unknown-pod";

const server = createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end(req.url === "/healthz" ? "ok\n" : `hello from ${name} (${host})\n`);
});
server.listen(port, host, () => console.log(`${name} listening on ${host}:${port}`));
// Stop on SIGTERM as a well-behaved container does: finish open requests, then exit.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
