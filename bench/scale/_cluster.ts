/**
 * The cluster under test, run as its own process by `scale.bench.ts` (it needs GBs of heap, and
 * the load generator must not share its event loop): `startCluster` with the simulated runtime,
 * `--nodes N`, the SQLite store in `<dir>`, on free ports.
 *
 * Protocol (IPC): once ready it sends `{ ready, apiUrl, kubeconfigPath, dns, startMs }`;
 * `{ memory: true }` is answered with `{ memory: { rss, rssAfterGc, heapAfterGc } }` (bytes; the
 * last two after a full garbage collection, which needs `--expose-gc`), `{ cpu: true }` with `{ cpu }` (CPU seconds
 * used so far); `{ profile: "start" }` / `{ profile:
 * "stop", path }` drive the V8 CPU profiler (answered `{ profiled }`); `{ heapSnapshot: path }`
 * writes a heap snapshot (answered `{ heapSnapshot: path }`); `"stop"` stops the cluster
 * (pods stop, data kept) and exits 0.
 *
 * Run only by the parent: `node --import tsx bench/scale/_cluster.ts <dir> <nodes> [bodyWorkers]`
 * (the API server's body worker threads; default its own).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { writeHeapSnapshot } from "node:v8";
import { startCluster } from "../../src/index.ts";

const dir = process.argv[2];
const nodes = Number(process.argv[3]);
const bodyWorkers = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
if (!dir || !(nodes >= 1) || !process.send) {
  console.error("usage: run by scale.bench.ts: _cluster.ts <dir> <nodes> (with IPC)");
  process.exit(2);
}
const send = (m: unknown) => process.send?.(m);

const t0 = performance.now();
const cluster = await startCluster({
  name: "scale",
  dataDir: dir,
  runtime: "simulated",
  nodes,
  apiPort: 0,
  dnsPort: 0,
  // Explicit: thousands of nodes of 128 addresses need more than an automatic /16 (512 nodes).
  podCidr: "127.160.0.0/11",
  updateKubeconfig: false,
  logLevel: "error",
  ...(bodyWorkers !== undefined ? { apiBodyWorkers: bodyWorkers } : {}),
});
send({
  ready: true,
  apiUrl: cluster.apiUrl,
  kubeconfigPath: cluster.kubeconfigPath,
  dns: cluster.dnsAddress,
  startMs: performance.now() - t0,
});

let session: Session | undefined;
process.on("message", (m: unknown) => {
  void (async () => {
    if (m === "stop") {
      await cluster.stop();
      process.exit(0);
    }
    const msg = m as {
      memory?: boolean;
      cpu?: boolean;
      profile?: "start" | "stop";
      path?: string;
      heapSnapshot?: string;
    };
    if (msg.heapSnapshot) send({ heapSnapshot: writeHeapSnapshot(msg.heapSnapshot) });
    if (msg.memory) {
      // RSS as found includes garbage a busy heap has not collected yet; after a full collection
      // it is what the objects themselves hold.
      const rss = process.memoryUsage().rss;
      globalThis.gc?.();
      const after = process.memoryUsage();
      send({ memory: { rss, rssAfterGc: after.rss, heapAfterGc: after.heapUsed } });
    }
    if (msg.cpu) {
      const u = process.cpuUsage();
      send({ cpu: (u.user + u.system) / 1e6 });
    }
    if (msg.profile === "start") {
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      send({ profiled: true });
    }
    if (msg.profile === "stop" && session && msg.path) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(msg.path, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
      send({ profiled: true });
    }
  })();
});
