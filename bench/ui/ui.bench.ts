/**
 * The web view in a real browser (issue #19's measures):
 * - Ready flips: a pod's Ready condition written through the API (status subresource), the
 *   EndpointSlice controller's update, the view's informer, batch and stream, and the page's
 *   DOM showing the endpoint ready / not ready; p50/p99 over `--flips` flips (default 50). The
 *   time is taken in Node from before the write to the browser reporting the DOM changed
 *   (Playwright's waitForFunction, polled per animation frame: a frame's worth of it is the
 *   harness's).
 * - Page load and memory with `--services` Services (default 1,000) of `--pods-per` pods each
 *   (default 10: 10,000 pods): time from navigation to the first snapshot drawn, the snapshot's
 *   size, the page's JS heap and DOM node count, and the cluster process's heap growth from the
 *   view's pictures.
 *
 * Pods are simulated without a node agent's work: they are bound to a node that does not exist
 * (`nodeName: ghost`), and their status (IP, Ready) is written as a kubelet would. Needs Debian's
 * chromium and playwright-core (as the browser tests); skips with a line when absent.
 *
 * Run: node --import tsx bench/ui/ui.bench.ts [--quick] [--services N] [--pods-per N] [--flips N]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { startCluster } from "../../src/index.ts";
import { launchBrowser, NO_BROWSER } from "../../test/_browser.ts";
import { percentile, startResult } from "../_result.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    services: { type: "string" },
    "pods-per": { type: "string" },
    flips: { type: "string" },
  },
});
const quick = values.quick;
const SERVICES = Number(values.services ?? (quick ? 100 : 1000));
const PODS_PER = Number(values["pods-per"] ?? 10);
const FLIPS = Number(values.flips ?? (quick ? 20 : 50));

if (NO_BROWSER) {
  console.log(`ui bench skipped: ${NO_BROWSER}`);
  process.exit(0);
}

const result = startResult("ui", { quick });
const c = await startCluster({
  ephemeral: true,
  apiPort: 0,
  dnsPort: 0,
  runtime: "simulated",
  logLevel: "error",
  ui: { port: 0 },
});
const NS = "bench";
const ipOf = (n: number) => `127.245.${(n >> 8) & 255}.${n & 255}`;

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

async function createPod(name: string, app: string, n: number, ready: boolean): Promise<void> {
  await c.client.create(REFS.pods, NS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels: { app } },
    spec: { nodeName: "ghost", containers: [{ name: "c", image: "none" }] },
  } as unknown as KubeObject);
  await setReady(name, n, ready);
}

async function setReady(name: string, n: number, ready: boolean): Promise<void> {
  const now = new Date().toISOString();
  await c.client.patch({ ...REFS.pods, subresource: "status" }, NS, name, "merge", {
    status: {
      phase: "Running",
      podIP: ipOf(n),
      podIPs: [{ ip: ipOf(n) }],
      conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now }],
    },
  });
}

await c.client.create(REFS.namespaces, "", {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: NS },
} as unknown as KubeObject);
const t0 = Date.now();
const svcNames = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(4, "0")}`);
await pool(svcNames, 16, (name) =>
  c.client.create(REFS.services, NS, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: {
      selector: { app: name },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
      ...(Number(name.slice(4)) % 2 === 0 ? { clusterIP: "None" } : {}),
    },
  } as unknown as KubeObject),
);
const pods = svcNames.flatMap((s, i) =>
  Array.from({ length: PODS_PER }, (_, j) => ({
    name: `${s}-${j}`,
    app: s,
    n: i * PODS_PER + j + 1,
  })),
);
await pool(pods, 16, (p) => createPod(p.name, p.app, p.n, true));
console.log(
  `created ${SERVICES} Services and ${pods.length} pods in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
// The EndpointSlice controller catches up: wait until the last Service has its endpoints.
const lastSvc = svcNames.at(-1)!;
for (;;) {
  const slices = await c.client.list(REFS.endpointslices, NS, {
    labelSelector: `kubernetes.io/service-name=${lastSvc}`,
  });
  const eps = slices.items.flatMap(
    (s) => (s as unknown as { endpoints?: unknown[] }).endpoints ?? [],
  );
  if (eps.length === PODS_PER) break;
  await new Promise((r) => setTimeout(r, 200));
}

/**
 * The page's globals the functions run in the browser use (this file is typechecked for Node,
 * without the DOM's types). Functions, not strings: the page's CSP forbids eval.
 */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
interface PageGlobals {
  document: {
    getElementById(id: string): PageElement | null;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): { length: number };
    getElementsByTagName(tag: string): { length: number };
  };
  performance: { memory: { usedJSHeapSize: number } };
}

/** The size of the stream's first event (the snapshot), read as the page reads it. */
async function firstEventBytes(stream: URL, params: URLSearchParams): Promise<number> {
  stream.search = params.toString();
  const ac = new AbortController();
  const res = await fetch(stream, { signal: ac.signal });
  const reader = res.body!.getReader();
  let bytes = 0;
  let tail = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done || !value) break;
    bytes += value.length;
    tail = (tail + new TextDecoder().decode(value)).slice(-4);
    if (bytes > 200 && tail.endsWith("\n\n")) break;
  }
  ac.abort();
  return bytes;
}

const heapBefore = process.memoryUsage().heapUsed;
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  const url = new URL(c.uiUrl!);
  url.hash = "";
  // Run from the sources, the page's script is bundled on its first request: not the page's time.
  await fetch(new URL(`/app.js?${url.searchParams}`, url));
  const tLoad = performance.now();
  await page.goto(url.href);
  await page.waitForFunction(
    (n) => {
      const d = (globalThis as unknown as PageGlobals).document;
      const shown = /live · (\d+) Services/.exec(d.getElementById("status")?.textContent ?? "");
      return Number(shown?.[1]) >= n && d.querySelectorAll("#list .row").length > 0;
    },
    SERVICES,
    { polling: "raf", timeout: 120_000 },
  );
  const loadMs = performance.now() - tLoad;
  const snapshotBytes = await firstEventBytes(new URL("/api/stream", url), url.searchParams);
  const page2 = await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return {
      heap: g.performance.memory.usedJSHeapSize,
      nodes: g.document.getElementsByTagName("*").length,
    };
  });
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    `page load ${loadMs.toFixed(0)} ms, snapshot ${(snapshotBytes / 2 ** 20).toFixed(1)} MiB, JS heap ${(page2.heap / 2 ** 20).toFixed(1)} MiB, ${page2.nodes} DOM elements, cluster heap +${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB`,
  );

  // Ready flips of one pod of the selected Service.
  await page.selectOption("#ns", NS);
  const flipSvc = svcNames[1]!; // a ClusterIP one
  await page.locator(`#list [data-key="${NS}/${flipSvc}"]`).click();
  await page.locator("#title", { hasText: flipSvc }).waitFor();
  const flipPod = `${flipSvc}-0`;
  const flipN = 1 * PODS_PER + 0 + 1;
  const ip = ipOf(flipN);
  const times: number[] = [];
  let ready = true;
  for (let i = 0; i < FLIPS; i++) {
    ready = !ready;
    const tw = performance.now();
    await setReady(flipPod, flipN, ready);
    await page.waitForFunction(
      ([ip, want]) =>
        (globalThis as unknown as PageGlobals).document
          .querySelector(`#endpoints tr[data-ip="${ip}"]`)
          ?.getAttribute("data-ready") === want,
      [ip, String(ready)] as const,
      { polling: "raf", timeout: 30_000 },
    );
    times.push(performance.now() - tw);
  }
  const pct = (p: number) => percentile(times, p);
  console.log(
    `Ready flip → page: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms over ${FLIPS}`,
  );
  result.done([
    {
      measure: "Ready change → page shows it, p50",
      value: Math.round(pct(50)),
      unit: "ms",
      better: "lower",
      detail: `p99 ${pct(99).toFixed(0)} ms over ${FLIPS} flips (API status write → EndpointSlice → view → page)`,
      aim: 1000,
    },
    {
      measure: `page load, ${SERVICES} Services / ${pods.length} pods`,
      value: Math.round(loadMs),
      unit: "ms",
      better: "lower",
      detail: `${page2.nodes} DOM elements, snapshot ${(snapshotBytes / 2 ** 20).toFixed(1)} MiB`,
    },
    {
      measure: `page JS heap, ${SERVICES} Services / ${pods.length} pods`,
      value: Math.round((page2.heap / 2 ** 20) * 10) / 10,
      unit: "MiB",
      better: "lower",
      detail: `cluster heap +${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB with the page open`,
    },
  ]);
} finally {
  await browser.close();
  await c.stop();
}
