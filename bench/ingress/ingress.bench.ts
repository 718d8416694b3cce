/**
 * Ingress controller benchmark: the same backend reached directly, through the ingress controller
 * (an HTTP reverse proxy: request parsed, routed by host and path, forwarded over a keep-alive
 * pool) and, for scale, through the service proxy's ClusterIP (a TCP splice), in one run.
 *
 * HTTP keep-alive throughput and latency: `wrk` when installed, else the Node load generator of
 * `bench/proxy/_peer.ts`, in its own process; the backend runs in its own process too, the
 * controller here, as in the cluster process. With wrk, HTTPS through the ingress is measured as
 * well (TLS ends at the controller). Prints each figure and the ingress/direct ratio, writes
 * `.bench-results/ingress.json` (bench/_result.ts).
 *
 * Run: node --import tsx bench/ingress/ingress.bench.ts [--quick] [--seconds 5]
 *      [--connections 32] [--rounds 3] [--loader auto|wrk|node]   (`--quick`: 2 s, 1 round)
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { nthAddress, parseCidr } from "../../src/api/cidr.ts";
import { selfSignedCert } from "../../src/apiserver/pki.ts";
import {
  createServiceProxy,
  IngressController,
  ingressAddress,
  LOOPKUBE_INGRESS_CONTROLLER,
} from "../../src/proxy/index.ts";
import { leaseTestPlan } from "../../test/_kubelet.ts";
import { type Line, startResult } from "../_result.ts";
import { type HttpFigures, hasWrk, wrk } from "../proxy/_wrk.ts";

const peer = join(dirname(fileURLToPath(import.meta.url)), "..", "proxy", "_peer.ts");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    loader: { type: "string", default: "auto" },
    quick: { type: "boolean", default: false },
  },
});
const quick = values.quick === true;
const seconds = quick ? 2 : Number(values.seconds);
const connections = Number(values.connections);
const rounds = quick ? 1 : Number(values.rounds);
const result = startResult("ingress", { quick });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function medianBy(runs: HttpFigures[]): HttpFigures {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50ms: median(runs.map((r) => r.p50ms)),
    p99ms: median(runs.map((r) => r.p99ms)),
  };
}

// Addresses of this run's own, leased as a cluster's are: a cluster may run beside the benchmark.
const { plan, release } = await leaseTestPlan("bench-ingress");
process.once("exit", release);
const BACKEND = nthAddress(parseCidr(plan.podCidr), 250 * 256 + 2);
const SERVICE = nthAddress(parseCidr(plan.serviceCidr), 250 * 256 + 2);
const INGRESS = ingressAddress(plan.loadBalancerCidr) ?? "";
const HTTP_PORT = 18081;
const BULK_PORT = 19001;

function startBackend(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", peer, "backend", BACKEND, String(HTTP_PORT), String(BULK_PORT)],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    child.stdout.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`backend exited ${code}`)));
  });
}

function nodeLoad(url: string, secs: number, conns: number): Promise<HttpFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", peer, "http", url, String(conns), String(secs)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as HttpFigures)
        : reject(new Error(`loader exited ${code}`)),
    );
  });
}

const useWrk = values.loader === "wrk" || (values.loader === "auto" && hasWrk());
const loader = useWrk ? "wrk -t1" : "node load generator";
const load = (url: string, secs: number, conns = connections) =>
  useWrk ? wrk(url, secs, conns) : nodeLoad(url, secs, conns);

const backend = await startBackend();
const proxy = createServiceProxy({
  nodeName: "bench",
  nodeIP: plan.nodeIP,
  loadBalancerCidr: plan.loadBalancerCidr,
  reservedLoadBalancerIPs: [INGRESS],
});
const ingress = new IngressController({
  controllerName: LOOPKUBE_INGRESS_CONTROLLER,
  ip: INGRESS,
  httpPorts: [18082, 0],
  httpsPorts: [18443, 0],
  defaultCertificate: await selfSignedCert({ commonName: "bench.local", hosts: ["bench.local"] }),
});
try {
  const svc = {
    metadata: { namespace: "default", name: "bench" },
    spec: { clusterIP: SERVICE, ports: [{ name: "http", port: HTTP_PORT }] },
  };
  const slice = {
    metadata: {
      namespace: "default",
      name: "bench-1",
      labels: { "kubernetes.io/service-name": "bench" },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: HTTP_PORT }],
    endpoints: [{ addresses: [BACKEND], conditions: { ready: true } }],
  };
  proxy.upsertService(svc);
  proxy.upsertEndpointSlice(slice);
  ingress.upsertService(svc);
  ingress.upsertEndpointSlice(slice);
  ingress.upsertIngressClass({
    metadata: { name: "loopkube" },
    spec: { controller: LOOPKUBE_INGRESS_CONTROLLER },
  });
  ingress.upsertIngress({
    metadata: { namespace: "default", name: "bench", generation: 1 },
    spec: {
      ingressClassName: "loopkube",
      rules: [
        {
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "bench", port: { number: HTTP_PORT } } },
              },
            ],
          },
        },
      ],
    },
  });
  await proxy.settled();
  await ingress.settled();
  const [httpListener, httpsListener] = ingress.listeners();
  const urls = {
    direct: `http://${BACKEND}:${HTTP_PORT}/`,
    ingress: `http://${INGRESS}:${httpListener?.port}/`,
    https: `https://${INGRESS}:${httpsListener?.port}/`,
    service: `http://${SERVICE}:${HTTP_PORT}/`,
  };
  if (!useWrk && values.loader === "auto")
    console.log("# wrk not found: the Node load generator limits these HTTP figures more than wrk");
  console.log(`# HTTP keep-alive, ${connections} connections, ${seconds} s x ${rounds}, ${loader}`);
  await load(urls.ingress, 1); // warm the paths up
  await load(urls.service, 1);
  // The machine is shared: alternate the runs and keep the median of each.
  const runs = {
    direct: [] as HttpFigures[],
    ingress: [] as HttpFigures[],
    service: [] as HttpFigures[],
    https: [] as HttpFigures[],
  };
  const single = { direct: [] as HttpFigures[], ingress: [] as HttpFigures[] };
  for (let i = 0; i < rounds; i++) {
    runs.direct.push(await load(urls.direct, seconds));
    runs.ingress.push(await load(urls.ingress, seconds));
    runs.service.push(await load(urls.service, seconds));
    if (useWrk) runs.https.push(await load(urls.https, seconds));
    single.direct.push(await load(urls.direct, seconds, 1));
    single.ingress.push(await load(urls.ingress, seconds, 1));
  }
  const direct = medianBy(runs.direct);
  const viaIngress = medianBy(runs.ingress);
  const viaService = medianBy(runs.service);
  const one = { direct: medianBy(single.direct), ingress: medianBy(single.ingress) };
  const row = (name: string, f: HttpFigures) =>
    console.log(
      `${name.padEnd(22)} ${f.rps.toFixed(0).padStart(8)} req/s   p50 ${f.p50ms.toFixed(2)} ms   p99 ${f.p99ms.toFixed(2)} ms`,
    );
  row("direct", direct);
  row("ingress (HTTP)", viaIngress);
  row("service proxy (TCP)", viaService);
  row("direct, 1 connection", one.direct);
  row("ingress, 1 connection", one.ingress);
  console.log(
    `ratio    ingress ${((viaIngress.rps / direct.rps) * 100).toFixed(0)} % of direct, service proxy ${((viaService.rps / direct.rps) * 100).toFixed(0)} %`,
  );
  const lines: Line[] = [
    {
      measure: `ingress: HTTP keep-alive through the ingress controller (${connections} conns, ${loader})`,
      value: viaIngress.rps,
      unit: "/s",
      better: "higher",
      detail: `p50 ${viaIngress.p50ms.toFixed(2)} ms, p99 ${viaIngress.p99ms.toFixed(2)} ms; the service proxy's ClusterIP in the same run: ${viaService.rps.toFixed(0)}/s (${((viaService.rps / direct.rps) * 100).toFixed(0)} % of direct)`,
      anchor: { value: direct.rps, source: "measured: the same requests straight to the pod IP" },
    },
    {
      measure: "ingress: added p50 latency of one request at a time (1 connection)",
      value: (one.ingress.p50ms - one.direct.p50ms) * 1000,
      unit: "µs",
      better: "lower",
      detail: `direct p50 ${one.direct.p50ms.toFixed(3)} ms, through the ingress ${one.ingress.p50ms.toFixed(3)} ms`,
    },
  ];
  if (runs.https.length > 0) {
    const viaHttps = medianBy(runs.https);
    row("ingress (HTTPS)", viaHttps);
    lines.push({
      measure: `ingress: HTTPS keep-alive, TLS ended at the controller (${connections} conns, ${loader})`,
      value: viaHttps.rps,
      unit: "/s",
      better: "higher",
      detail: `p50 ${viaHttps.p50ms.toFixed(2)} ms, p99 ${viaHttps.p99ms.toFixed(2)} ms`,
      anchor: {
        value: viaIngress.rps,
        source: "measured: the same requests through the ingress over plain HTTP",
      },
    });
  }
  console.log(`wrote ${result.done(lines)}`);
} finally {
  await ingress.close();
  await proxy.close();
  backend.kill();
}
