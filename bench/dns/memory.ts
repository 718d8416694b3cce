/**
 * Cluster DNS at scale: the memory of the DNS view at 10,000 Services and 150,000 pods, against
 * CoreDNS's published sizing formula, and answer latency at that size against a cluster of 10
 * Services (it must not grow with the cluster).
 *
 * Each size runs in a fresh child process started with --expose-gc, so nothing else lives in
 * its heap. The child feeds a `DnsView` exactly as src/dns/informers.ts does (the view's
 * upsert calls, with objects shaped as the API server serves them): Namespaces, Services (half
 * headless), Pods, and EndpointSlices of at most 100 endpoints (the EndpointSlice
 * controller's default) for every pod. The input objects are dropped as they are fed, so after
 * two full collections the heap growth is what the view itself keeps. One headless Service has
 * 250 endpoints (a TCP-sized answer of ~4 KB); the other pods are spread over the rest.
 *
 * Latency is measured through the query handler (wire bytes in, wire bytes out): uncached (the
 * answer computed from the view, as after any change to that Service) and cached (the hot path).
 *
 * The anchor is CoreDNS's published memory estimate (coredns/deployment,
 * kubernetes/Scaling_CoreDNS.md, default settings): MB = (Pods + Services) × 0.000858 + 49.1,
 * of which 30 MB is a full answer cache and 5 MB the query buffer. The view is compared with the
 * per-object part, the whole process (view, full answer cache, server) with the whole formula.
 *
 * Run: node --import tsx bench/dns/memory.ts [--quick]   (quick: 1,000 Services, 15,000 pods)
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Namespace, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import {
  createQueryHandler,
  DnsView,
  encodeMessage,
  type Message,
  RRType,
} from "../../src/dns/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const MiB = 2 ** 20;
const BIG_ENDPOINTS = 250;
const SLICE_MAX = 100;
const NAMESPACES = 100;
const COREDNS_SOURCE =
  "published: CoreDNS, coredns/deployment kubernetes/Scaling_CoreDNS.md, (pods+services) × 0.000858 + 49.1 MB (MB read as 10^6 bytes)";

interface SizeResult {
  services: number;
  pods: number;
  buildMs: number;
  viewHeapMiB: number;
  viewRssMiB: number;
  cacheHeapMiB: number;
  processRssMiB: number;
  startRssMiB: number;
  latency: Record<string, { p50: number; p99: number; bytes: number }>;
}

// ---- the child: one size, one fresh heap ------------------------------------------------------

const ip = (n: number, base: number) => `127.${base + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;

function podObject(ns: string, name: string, app: string, podIP: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      uid: `00000000-0000-4000-8000-${name.padStart(12, "0").slice(-12)}`,
      resourceVersion: "1",
      labels: { app },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${app}-5d8f9c`,
          uid: "11111111-1111-4111-8111-111111111111",
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: "loopkube",
      containers: [{ name: "app", image: "app", ports: [{ containerPort: 8080 }] }],
    },
    status: {
      phase: "Running",
      podIP,
      podIPs: [{ ip: podIP }],
      hostIP: "127.0.0.1",
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

function sliceObject(
  ns: string,
  svc: string,
  index: number,
  endpoints: Array<{ ip: string; pod: string }>,
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${svc}-${index.toString(36).padStart(5, "x")}`,
      namespace: ns,
      labels: {
        "kubernetes.io/service-name": svc,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: "loopkube",
      targetRef: { kind: "Pod", namespace: ns, name: e.pod, uid: "u" },
    })),
  };
}

/** Feeds the view one Service at a time; returns the names the latency check asks. */
function fill(view: DnsView, services: number, pods: number): void {
  for (let n = 0; n < NAMESPACES; n++) {
    view.upsertNamespace({ metadata: { name: `ns-${n}` } } as Namespace);
  }
  // Service 0 (ns-0/big) is headless with 250 endpoints; the others share the rest evenly.
  let podNo = 0;
  const rest = pods - BIG_ENDPOINTS;
  for (let i = 0; i < services; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    const name = i === 0 ? "big" : `svc-${i}`;
    const headless = i === 0 || i % 2 === 0;
    const svc: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns, uid: `svc-${i}`, resourceVersion: "1" },
      spec: {
        selector: { app: name },
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        ...(headless
          ? { clusterIP: "None", clusterIPs: ["None"] }
          : { clusterIP: ip(i + 1, 96), clusterIPs: [ip(i + 1, 96)], type: "ClusterIP" }),
      },
    };
    view.upsertService(svc);
    const count =
      i === 0
        ? BIG_ENDPOINTS
        : Math.floor((rest * i) / (services - 1)) - Math.floor((rest * (i - 1)) / (services - 1));
    const eps: Array<{ ip: string; pod: string }> = [];
    for (let k = 0; k < count; k++, podNo++) {
      const pod = `${name}-5d8f9c-${k.toString(36)}`;
      const podIP = ip(podNo + 1, 200);
      view.upsertPod(podObject(ns, pod, name, podIP));
      eps.push({ ip: podIP, pod });
    }
    for (let s = 0; s * SLICE_MAX < eps.length; s++) {
      view.upsertEndpointSlice(
        sliceObject(ns, name, s, eps.slice(s * SLICE_MAX, (s + 1) * SLICE_MAX)),
      );
    }
  }
  view.setSynced(true);
}

function queryBytes(name: string, type: number, udpSize?: number): Buffer {
  const m: Message = {
    header: {
      id: 7,
      qr: false,
      opcode: 0,
      aa: false,
      tc: false,
      rd: true,
      ra: false,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (udpSize) m.edns = { udpSize, version: 0, dnssecOk: false, options: [] };
  return encodeMessage(m).bytes;
}

function time(fn: () => unknown, samples: number): { p50: number; p99: number } {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return { p50: percentile(xs, 50), p99: percentile(xs, 99) };
}

function child(services: number, pods: number, samples: number): SizeResult {
  const gc = globalThis.gc;
  if (!gc) throw new Error("the child needs --expose-gc");
  gc();
  gc();
  const before = process.memoryUsage();
  const view = new DnsView();
  const t0 = performance.now();
  fill(view, services, pods);
  const buildMs = performance.now() - t0;
  gc();
  gc();
  const built = process.memoryUsage();

  const latency: SizeResult["latency"] = {};
  const cases: Array<[string, Buffer]> = [
    ["headless 250 A (TCP)", queryBytes("big.ns-0.svc.cluster.local", RRType.A, 1232)],
    ["ClusterIP A (UDP)", queryBytes("svc-1.ns-1.svc.cluster.local", RRType.A, 1232)],
  ];
  for (const cached of [false, true]) {
    const h = createQueryHandler(view, {
      clusterDomain: "cluster.local",
      cacheSize: cached ? 20000 : 0,
    });
    for (const [what, q] of cases) {
      const transport = what.includes("TCP") ? "tcp" : "udp";
      let bytes = 0;
      const run = () => {
        const r = h.handle(q, transport);
        if (!(r instanceof Buffer)) throw new Error(`${what}: no synchronous answer`);
        bytes = r.length;
      };
      time(run, Math.min(500, samples)); // warm-up: JIT and, when cached, the entry
      latency[`${what}, ${cached ? "cached" : "uncached"}`] = { ...time(run, samples), bytes };
    }
    h.close();
  }

  // A full answer cache, as CoreDNS's formula assumes one (10,000 entries): one A answer per
  // Service, kept by a handler that stays alive for the measurement.
  const h = createQueryHandler(view, { clusterDomain: "cluster.local" });
  for (let i = 0; i < Math.min(services, 10000); i++) {
    const name = i === 0 ? "big" : `svc-${i}`;
    h.handle(queryBytes(`${name}.ns-${i % NAMESPACES}.svc.cluster.local`, RRType.A, 1232), "udp");
  }
  gc();
  gc();
  const cached = process.memoryUsage();
  const keep = [view, h];
  if (keep.length !== 2) throw new Error("unreachable");
  return {
    services,
    pods,
    buildMs,
    viewHeapMiB: (built.heapUsed + built.external - before.heapUsed - before.external) / MiB,
    viewRssMiB: (built.rss - before.rss) / MiB,
    cacheHeapMiB: (cached.heapUsed + cached.external - built.heapUsed - built.external) / MiB,
    processRssMiB: cached.rss / MiB,
    startRssMiB: before.rss / MiB,
    latency,
  };
}

// ---- the parent: run each size in its own process, write the result ----------------------------

function runChild(services: number, pods: number, samples: number): SizeResult {
  const r = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=4096",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--child",
      String(services),
      String(pods),
      String(samples),
    ],
    { encoding: "utf8", maxBuffer: 16 * MiB },
  );
  if (r.status !== 0) throw new Error(`child ${services}/${pods} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as SizeResult;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function main(): void {
  const quick = process.argv.includes("--quick");
  const result = startResult("dns-memory", { quick });
  const [services, pods] = quick ? [1000, 15000] : [10000, 150000];
  const samples = quick ? 2000 : 10000;
  const large = runChild(services, pods, samples);
  const small = runChild(10, BIG_ENDPOINTS + 9 * 15, samples);

  const objects = large.services + large.pods;
  const corednsSlopeMiB = (objects * 0.000858 * 1e6) / MiB;
  const corednsTotalMiB = ((objects * 0.000858 + 49.1) * 1e6) / MiB;
  const size = `${large.services.toLocaleString("en")} Services, ${large.pods.toLocaleString("en")} pods`;
  const lines: Line[] = [
    {
      measure: `DNS view memory (heap), ${size}`,
      value: round(large.viewHeapMiB),
      unit: "MiB",
      better: "lower",
      detail: `${round((large.viewHeapMiB * MiB) / objects, 0)} B per pod+service; RSS growth ${round(large.viewRssMiB)} MiB; built in ${round(large.buildMs, 0)} ms (${round((large.buildMs * 1000) / objects, 1)} µs per object)`,
      anchor: { value: round(corednsSlopeMiB), source: `${COREDNS_SOURCE}: the per-object part` },
    },
    {
      measure: `DNS process RSS with a full answer cache, ${size}`,
      value: round(large.processRssMiB),
      unit: "MiB",
      better: "lower",
      detail: `${round(large.startRssMiB)} MiB before any object (Node and the TypeScript loader), then the view, the garbage of feeding it and ${Math.min(large.services, 10000).toLocaleString("en")} cached answers (${round(large.cacheHeapMiB)} MiB of heap); the informers' object caches (shared with the controllers and proxy in loopkube) are not counted`,
      anchor: { value: round(corednsTotalMiB), source: COREDNS_SOURCE },
    },
  ];
  for (const what of Object.keys(large.latency)) {
    const l = large.latency[what]!;
    const s = small.latency[what]!;
    lines.push({
      measure: `answer latency p50, ${what}, ${size}`,
      value: round(l.p50, 2),
      unit: "µs",
      better: "lower",
      detail: `p99 ${round(l.p99, 2)} µs, ${l.bytes} B answer; handler call, no socket`,
      anchor: {
        value: round(s.p50, 2),
        source: `measured: the same query with 10 Services (p99 ${round(s.p99, 2)} µs)`,
      },
    });
  }
  const path = result.done(lines);
  for (const l of lines) {
    const anchor = l.anchor ? `  vs ${l.anchor.value} ${l.unit} (${l.anchor.source})` : "";
    console.log(`${l.measure}: ${l.value} ${l.unit}  [${l.detail ?? ""}]${anchor}`);
  }
  console.log(`result: ${path}`);
}

if (process.argv[2] === "--child") {
  const [services, pods, samples] = process.argv.slice(3).map(Number);
  console.log(JSON.stringify(child(services!, pods!, samples!)));
} else {
  main();
}
