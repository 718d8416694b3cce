/**
 * The API server of `bigwrites.bench.ts`, run as its own process so that its event-loop time can
 * be measured apart from the load generator's. The API server code is imported from the source
 * tree given as the first argument (this checkout's, or an extract of a baseline commit), so one
 * run measures before and after side by side.
 *
 * Protocol (IPC): on start it sends `{ url, token }`; `{ mark: true }` is answered with
 * `{ busyMs }`, the event loop's busy time (performance.eventLoopUtilization) since the previous
 * mark; `{ stop: true }` closes the server and exits 0 (a `--cpu-prof` profile is then written).
 *
 * Run only by the parent: `node --import tsx bench/api/_bigwrites-server.ts <srcRoot> <dir>`.
 *
 * @module
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const root = process.argv[2];
const dir = process.argv[3];
if (!root || !dir || !process.send) {
  console.error("usage: run by bigwrites.bench.ts: _bigwrites-server.ts <srcRoot> <dir>");
  process.exit(2);
}
const load = (path: string) => import(pathToFileURL(join(root, path)).href);
const { startApiServer } = await load("src/apiserver/index.ts");
const { ensurePki } = await load("src/apiserver/pki.ts");
const { openStore } = await load("src/store/index.ts");

const pki = await ensurePki(join(dir, "pki"), {
  clusterName: "bench",
  hosts: ["localhost", "127.0.0.1"],
});
const store = openStore({ backend: "memory" });
const server = await startApiServer({
  store,
  port: 0,
  tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
  tokens: [pki.token],
});

let last = performance.eventLoopUtilization();
process.on("message", (m: { mark?: boolean; stop?: boolean }) => {
  if (m.mark) {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, last);
    last = now;
    process.send?.({ busyMs: delta.active });
  }
  if (m.stop) {
    void server.close().then(() => {
      store.close?.();
      process.exit(0);
    });
  }
});
process.send({ url: server.url, token: pki.token });
