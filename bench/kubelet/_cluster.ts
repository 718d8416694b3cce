/**
 * The cluster under test for `logs-load.bench.ts`, in its own process so that the bench's
 * probes and kubectl runs never share its event loop: `startCluster`, ephemeral, process runtime,
 * free ports, address ranges chosen at start, and container logs rotated only past 1 GiB (so a 100 MB
 * log stays one file: the worst case for a reader).
 *
 * Protocol (IPC): once ready it sends `{ ready, apiUrl, kubeconfigPath, dns }`; `{ rss: true }`
 * is answered with `{ rss, peak, loopP99, loopMax }` (bytes: now, and the highest sampled every
 * 50 ms since the last ask; ms: the event loop's delay since the last ask, as
 * `monitorEventLoopDelay` measures it); `"stop"` stops the cluster and exits 0.
 *
 * Run only by the parent: `node --import tsx bench/kubelet/_cluster.ts` (with IPC).
 *
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startCluster } from "../../src/index.ts";

if (!process.send) {
  console.error("usage: run by logs-load.bench.ts (with IPC)");
  process.exit(2);
}
const send = (m: unknown) => process.send?.(m);

const cluster = await startCluster({
  name: "logs-load",
  ephemeral: true,
  runtime: "process",
  apiPort: 0,
  dnsPort: 0,
  updateKubeconfig: false,
  logLevel: "error",
  containerLogMaxSize: "1Gi",
});
let peak = 0;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
send({
  ready: true,
  apiUrl: cluster.apiUrl,
  kubeconfigPath: cluster.kubeconfigPath,
  dns: cluster.dnsAddress,
});

process.on("message", (m: unknown) => {
  void (async () => {
    if (m === "stop") {
      clearInterval(sampler);
      await cluster.stop();
      process.exit(0);
    }
    if ((m as { rss?: boolean }).rss) {
      const rss = process.memoryUsage().rss;
      send({
        rss,
        peak: Math.max(peak, rss),
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
      });
      peak = rss;
      loop.reset();
    }
  })();
});
