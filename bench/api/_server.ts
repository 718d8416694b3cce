/**
 * The API server under test, run as its own process by `api.bench.ts` so that the load generator
 * never shares an event loop (or a core) with it.
 *
 * Protocol (IPC): on start it sends `{ ready, url, pki }` (the PEM material the loader needs);
 * `{ profile: "start" }` starts the V8 CPU profiler and `{ profile: "stop", path }` writes the
 * profile to `path`, each answered by one message when done; on `"stop"` it closes the server
 * and the store and exits 0.
 *
 * Backend `bare` is the ceiling: Node's HTTPS server with the same TLS settings (client
 * certificates requested) answering every request with one fixed ConfigMap, no API server at all.
 *
 * Run only by the parent: `node --import tsx bench/api/_server.ts <memory|sqlite|bare> <dir>`.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { startApiServer } from "../../src/apiserver/index.ts";
import { ensurePki } from "../../src/apiserver/pki.ts";
import { openStore } from "../../src/store/index.ts";

const backend = process.argv[2];
const dir = process.argv[3];
if (!["memory", "sqlite", "bare"].includes(backend ?? "") || !dir || !process.send) {
  console.error("usage: run by api.bench.ts: _server.ts <memory|sqlite|bare> <dir> (with IPC)");
  process.exit(2);
}

const pki = await ensurePki(join(dir, "pki"), {
  clusterName: "bench",
  hosts: ["localhost", "127.0.0.1"],
});
const tls = { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert };
const store =
  backend === "sqlite"
    ? openStore({ backend: "sqlite", path: join(dir, "state.db") })
    : openStore({ backend: "memory" });
const server =
  backend === "bare"
    ? await startBare(tls)
    : await startApiServer({ store, port: 0, tls, tokens: [pki.token] });

/** The ceiling: TLS, HTTP and a fixed JSON answer, nothing else. */
async function startBare(material: typeof tls): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "cm-7",
      namespace: "bench-small",
      uid: "3f1e0b4c-9a7d-4c1e-8f6b-2d5a7c9e1b3f",
      resourceVersion: "1234",
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: { app: "bench", shard: "7" },
    },
    data: { key: "value-7", mode: "production" },
  });
  const srv = createServer(
    { ...material, requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 120_000 },
    (req, res) => {
      req.resume();
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        "Cache-Control": "no-cache, private",
      });
      res.end(body);
    },
  );
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const address = srv.address();
  const port = address && typeof address === "object" ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  };
}

// Profiling one phase at a time (rather than `--cpu-prof` for the whole process) keeps start-up
// and the other phases out of each profile.
const inspector = new Session();
inspector.connect();
process.on("message", (msg: unknown) => {
  if (msg === "stop") {
    void server.close().then(() => {
      store.close();
      process.exit(0);
    });
    return;
  }
  const m = msg as { profile?: "start" | "stop"; path?: string };
  if (m.profile === "start") {
    void (async () => {
      await inspector.post("Profiler.enable");
      await inspector.post("Profiler.setSamplingInterval", { interval: 200 });
      await inspector.post("Profiler.start");
      process.send?.({ profiling: true });
    })();
  } else if (m.profile === "stop" && m.path) {
    const path = m.path;
    void (async () => {
      const { profile } = await inspector.post("Profiler.stop");
      writeFileSync(path, JSON.stringify(profile));
      process.send?.({ profiled: path });
    })();
  }
});
process.send({
  ready: true,
  url: server.url,
  pki: { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey, token: pki.token },
});
