/**
 * Programming latency (issues #3, #5, #6): how long after a pod's Ready condition changes do the
 * EndpointSlices, the cluster DNS answer and the service proxy follow?
 *
 * One whole cluster in this process (`startCluster`: ephemeral, free ports, simulated runtime).
 * Pods bound to a node no kubelet manages get their status written by the bench through
 * `pods/status`, as a kubelet writes it, so nothing else flips them back. For each of N flips
 * (Ready True ↔ False), from the status write's response to:
 *   (a) the EndpointSlice change seen by a watch (and the trigger-time annotation it carries);
 *   (b) a real DNS A query over UDP answering the new set (headless Service, queried back to
 *       back, one query outstanding: the resolution is one round trip);
 *   (c) a real TCP connection to the ClusterIP:port being served by (or refused for lack of)
 *       the pod, whose backend is a listener this bench binds on the pod's IP.
 * Each measure runs in its own phase so one probe's load does not blur another's figure. Plus:
 * a Deployment of 100 (and 1,000 in the full run) → all endpoints ready in the slices.
 *
 * Run: node --import tsx bench/latency/latency.bench.ts [--quick] [--flips N]
 */
import { nthAddress, parseCidr } from "../../src/api/cidr.ts";
import { startCluster } from "../../src/cluster/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";
import {
  createNamespace,
  createService,
  createUnmanagedPod,
  flipReady,
  SliceWatch,
  sliceShows,
  TRIGGER_TIME,
} from "./_fixtures.ts";
import { dnsKey, dnsProbe, startBackend, type TcpOutcome, tcpProbe } from "./_probes.ts";
import { timeRollout } from "./_rollout.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const flipsArg = args.indexOf("--flips");
const FLIPS = flipsArg >= 0 ? Number(args[flipsArg + 1]) : quick ? 30 : 200;
const ROLLOUTS = quick ? [100] : [100, 1000];
const NS = "latency";
const TIMEOUT_MS = 5000;
const GAP_MS = 3;

const AIM_MS = 10;
const SLI_ANCHOR = {
  value: 30_000,
  source:
    "published: kube SIG Scalability network programming latency SLI (kubernetes/community sig-scalability/slos/network_programming_latency.md; the document leaves the SLO value open, 30 s taken as the bound)",
};
const COREDNS_ANCHOR = {
  value: 5_000,
  source:
    "published: CoreDNS kubernetes plugin `ttl` default 5 s (coredns.io/plugins/kubernetes), answers held that long by the cache plugin (coredns.io/plugins/cache); kubeadm's Corefile uses ttl 30/cache 30",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r2 = (x: number) => Math.round(x * 100) / 100;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: nothing in ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
    }),
  ]);
}

function summary(xs: number[], extra = ""): string {
  const s = `p50 ${r2(percentile(xs, 50))} ms, p99 ${r2(percentile(xs, 99))} ms, max ${r2(Math.max(...xs))} ms, n ${xs.length}`;
  return extra ? `${s}; ${extra}` : s;
}

function latencyLine(
  measure: string,
  xs: number[],
  opts: { detail?: string; anchor?: Line["anchor"]; aim?: number } = {},
): Line {
  return {
    measure,
    value: r2(percentile(xs, 99)),
    unit: "ms",
    better: "lower",
    detail: summary(xs, opts.detail),
    ...(opts.anchor ? { anchor: opts.anchor } : {}),
    ...(opts.aim !== undefined ? { aim: opts.aim } : {}),
  };
}

const result = startResult("latency", { quick });
const cluster = await startCluster({
  name: "latency",
  ephemeral: true,
  apiPort: 0,
  dnsPort: 0,
  runtime: "simulated",
  // A node takes 110 pods (kubelet's maxPods): enough simulated nodes for the largest rollout.
  nodes: Math.ceil((Math.max(...ROLLOUTS) + 20) / 110),
  updateKubeconfig: false,
  logLevel: "error",
});
// Unmanaged pods take addresses far above the ones the node agent hands out from the pod range.
const unmanagedIP = (n: number) => nthAddress(parseCidr(cluster.addresses.podCidr), 250 * 256 + n);
const STABLE_IP = unmanagedIP(1);
const FLIP_IP = unmanagedIP(2);
const TCP_IP = unmanagedIP(3);
const client = cluster.client;
const lines: Line[] = [];
const failures: string[] = [];

try {
  await createNamespace(client, NS);

  // Headless Service "lat": one pod always ready (the answer is never empty), one that flips.
  await createService(client, NS, { name: "lat", selector: { app: "lat" }, headless: true });
  const slices = await SliceWatch.start(client, NS, "lat");
  const bothReady = slices.next(() => slices.readyCount() === 2);
  await createUnmanagedPod(client, NS, {
    name: "lat-stable",
    labels: { app: "lat" },
    ip: STABLE_IP,
    ready: true,
  });
  await createUnmanagedPod(client, NS, {
    name: "lat-flip",
    labels: { app: "lat" },
    ip: FLIP_IP,
    ready: true,
  });
  await withTimeout(bothReady, "both pods in the slice");

  // (a) Ready flip → slice event, alone.
  const sliceMs: number[] = [];
  const writeMs: number[] = [];
  const triggerMs: number[] = [];
  let triggerIsTransition = 0;
  let ready = true;
  for (let i = 0; i < FLIPS; i++) {
    ready = !ready;
    const seen = slices.next(sliceShows(FLIP_IP, ready));
    const tw = performance.now();
    const transition = await flipReady(client, NS, { name: "lat-flip", ip: FLIP_IP, ready });
    const t0 = performance.now();
    writeMs.push(t0 - tw);
    try {
      const ev = await withTimeout(seen, `flip ${i} → slice`);
      sliceMs.push(ev.at - t0);
      const trig = ev.slice.metadata?.annotations?.[TRIGGER_TIME];
      if (trig) {
        triggerMs.push(ev.wall - Date.parse(trig));
        if (Date.parse(trig) === Date.parse(transition)) triggerIsTransition++;
      }
    } catch (err) {
      failures.push(String(err));
    }
    await sleep(GAP_MS);
  }
  lines.push(
    latencyLine("pod Ready flip → EndpointSlice seen by a watch", sliceMs, {
      detail: `status write itself p50 ${r2(percentile(writeMs, 50))} ms; kube-controller-manager batches by --endpointslice-updates-batch-period, default 0 (no batching)`,
      anchor: SLI_ANCHOR,
      aim: AIM_MS,
    }),
  );
  if (triggerMs.length > 0) {
    lines.push(
      latencyLine(`${TRIGGER_TIME} → slice seen (as the kube SLI measures)`, triggerMs, {
        detail: `annotation = the pod's Ready lastTransitionTime in ${triggerIsTransition} of ${triggerMs.length} (kube's rule); includes the status write`,
        anchor: SLI_ANCHOR,
        aim: AIM_MS,
      }),
    );
  } else {
    failures.push(`no slice carried ${TRIGGER_TIME}`);
  }

  // (b) Ready flip → DNS answer, with the slice watch noting when the slice changed.
  const name = `lat.${NS}.svc.cluster.local`;
  const dns = dnsProbe(cluster.dnsAddress, name);
  const rtt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const { at } = await dns.once();
    rtt.push(at - t);
  }
  const dnsMs: number[] = [];
  const dnsAfterSlice: number[] = [];
  let probes = 0;
  for (let i = 0; i < FLIPS; i++) {
    ready = !ready;
    const seen = slices.next(sliceShows(FLIP_IP, ready));
    await flipReady(client, NS, { name: "lat-flip", ip: FLIP_IP, ready });
    const t0 = performance.now();
    try {
      const r = await dns.until(dnsKey(ready ? [STABLE_IP, FLIP_IP] : [STABLE_IP]), TIMEOUT_MS);
      dnsMs.push(r.at - t0);
      probes += r.probes;
      const ev = await withTimeout(seen, `flip ${i} → slice (dns phase)`);
      dnsAfterSlice.push(r.at - ev.at);
    } catch (err) {
      failures.push(String(err));
    }
    await sleep(GAP_MS);
  }
  dns.close();
  lines.push(
    latencyLine("pod Ready flip → DNS answer changes (UDP A query)", dnsMs, {
      detail: `query round trip p50 ${r2(percentile(rtt, 50))} ms (the resolution), ${r2(probes / Math.max(1, dnsMs.length))} queries per flip`,
      anchor: COREDNS_ANCHOR,
      aim: AIM_MS,
    }),
    latencyLine("EndpointSlice seen → DNS answer changes", dnsAfterSlice, {
      detail: "from the bench's own slice watch event",
    }),
  );

  // (c) Ready flip → proxy serves / refuses, one endpoint behind a ClusterIP.
  const tcpSvc = await createService(client, NS, { name: "lat-tcp", selector: { app: "lat-tcp" } });
  const clusterIP = tcpSvc.spec?.clusterIP ?? "";
  const backend = await startBackend(TCP_IP, 8080);
  const tcpSlices = await SliceWatch.start(client, NS, "lat-tcp");
  await createUnmanagedPod(client, NS, {
    name: "lat-tcp",
    labels: { app: "lat-tcp" },
    ip: TCP_IP,
    ready: true,
  });
  const tcp = tcpProbe(clusterIP, 8080);
  const proxyMs: number[] = [];
  const proxyAfterSlice: number[] = [];
  const toServed: number[] = [];
  const toRefused: number[] = [];
  const tcpRtt: number[] = [];
  try {
    await tcp.until("served", TIMEOUT_MS);
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      const { at } = await tcp.once();
      tcpRtt.push(at - t);
    }
    let tcpReady = true;
    for (let i = 0; i < FLIPS; i++) {
      tcpReady = !tcpReady;
      const seen = tcpSlices.next(sliceShows(TCP_IP, tcpReady));
      await flipReady(client, NS, { name: "lat-tcp", ip: TCP_IP, ready: tcpReady });
      const t0 = performance.now();
      const want: TcpOutcome = tcpReady ? "served" : "refused";
      try {
        const r = await tcp.until(want, TIMEOUT_MS);
        proxyMs.push(r.at - t0);
        (tcpReady ? toServed : toRefused).push(r.at - t0);
        const ev = await withTimeout(seen, `flip ${i} → slice (proxy phase)`);
        proxyAfterSlice.push(r.at - ev.at);
      } catch (err) {
        failures.push(String(err));
      }
      await sleep(GAP_MS);
    }
  } finally {
    tcpSlices.stop();
    await new Promise<void>((r) => backend.close(() => r()));
  }
  lines.push(
    latencyLine("pod Ready flip → proxy serves / refuses (TCP via ClusterIP)", proxyMs, {
      detail: `connection round trip p50 ${r2(percentile(tcpRtt, 50))} ms (the resolution); to served p99 ${r2(percentile(toServed, 99))} ms, to refused p99 ${r2(percentile(toRefused, 99))} ms`,
      anchor: SLI_ANCHOR,
      aim: AIM_MS,
    }),
    latencyLine("EndpointSlice seen → proxy serves / refuses", proxyAfterSlice, {
      detail: "from the bench's own slice watch event (issue #6: endpoint change → proxy using it)",
      aim: AIM_MS,
    }),
  );
  slices.stop();

  // Deployment of N → all N endpoints ready in the slices.
  for (const replicas of ROLLOUTS) {
    const ns = `rollout-${replicas}`;
    await createNamespace(client, ns);
    try {
      const t = await timeRollout(client, ns, { replicas, timeoutMs: 120_000 });
      lines.push({
        measure: `Deployment of ${replicas} created → all ${replicas} endpoints ready in slices`,
        value: Math.round(t.allInSlicesMs),
        unit: "ms",
        better: "lower",
        detail: `pods: all created ${Math.round(t.allPodsCreatedMs)} ms, all bound ${Math.round(t.allPodsBoundMs)} ms, all Ready ${Math.round(t.allPodsReadyMs)} ms (watch); first endpoint ready in a slice ${Math.round(t.firstInSliceMs)} ms; simulated runtime`,
      });
    } catch (err) {
      failures.push(String(err));
    }
  }
} finally {
  await cluster.stop();
}

const path = result.done(lines);
for (const l of lines) {
  const anchor = l.anchor ? ` (anchor ${l.anchor.value} ${l.unit})` : "";
  const aim = l.aim !== undefined ? ` [aim ${l.aim} ${l.unit}]` : "";
  console.log(`${l.measure}: ${l.value} ${l.unit}${aim}${anchor}\n    ${l.detail ?? ""}`);
}
for (const f of failures.slice(0, 10)) console.log(`failure: ${f}`);
if (failures.length > 10) console.log(`… ${failures.length - 10} more failures`);
console.log(`result: ${path}`);
process.exitCode = failures.length > 0 ? 1 : 0;
