/**
 * Issue #14's "Measure" (b): does `kubectl logs --tail=1` of a 100 MB log hold up the rest of the
 * cluster? The p99 of a probe GET (an API GET of a small ConfigMap over HTTPS) and of a DNS query
 * (an A query over UDP to the cluster DNS) while real `kubectl logs --tail=1` runs hit the server
 * back to back, three at a time, against the same p99 at rest; as ratios (aim: under load within
 * 5× of at rest, and under 50 ms). A control phase runs as many `kubectl get pod` loops instead:
 * on a small machine the kubectl processes themselves take CPU from the cluster, and the
 * difference between the two phases is what reading the log costs.
 *
 * The cluster runs in its own process (`_cluster.ts`: process runtime, logs rotated only past
 * 1 GiB so the 100 MB of output stays in one file, the worst case for a reader). A pod prints
 * 1,000,000 lines of 100 characters (100 MB of output, ~140 MB of CRI log), then `END`. Each
 * probe has one request outstanding and the next follows 5 ms after the answer.
 *
 * Run: node --import tsx bench/kubelet/logs-load.bench.ts [--quick] [--samples N]
 * (`--quick`: 20 MB of output, 150 samples; needs kubectl on PATH)
 */
import { execFile, fork } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REFS } from "../../src/api/refs.ts";
import { createHttpClient, loadKubeconfig } from "../../src/client/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const samplesArg = args.indexOf("--samples");
const SAMPLES = samplesArg >= 0 ? Number(args[samplesArg + 1]) : quick ? 150 : 400;
const LINES = quick ? 200_000 : 1_000_000;
const READERS = 3;
const GAP_MS = 5;
const AIM_MS = 50;
const AIM_RATIO = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => Math.round(x * 100) / 100;

function kubectl(kubeconfig: string, argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      "kubectl",
      ["--kubeconfig", kubeconfig, ...argv],
      { maxBuffer: 1 << 20, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, out: String(stdout) || String(stderr) }),
    );
  });
}

interface Cluster {
  apiUrl: string;
  kubeconfigPath: string;
  dns: { host: string; port: number };
  ask(m: unknown): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

async function startChild(): Promise<Cluster> {
  const script = join(fileURLToPath(new URL(".", import.meta.url)), "_cluster.ts");
  const child = fork(script, [], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once("message", (m) => resolve(m as Record<string, unknown>));
    child.once("exit", (code) => reject(new Error(`the cluster exited (${code})`)));
  });
  return {
    apiUrl: ready.apiUrl as string,
    kubeconfigPath: ready.kubeconfigPath as string,
    dns: ready.dns as { host: string; port: number },
    ask: (m) =>
      new Promise((resolve) => {
        child.once("message", (r) => resolve(r as Record<string, number>));
        child.send(m as object);
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.send("stop");
      }),
  };
}

/** Probes that got no answer (a DNS query times out after 2 s): counted at the time they took. */
const failures: Record<string, number> = {};

/** `n` timed calls of `fn`, one at a time, GAP_MS apart. */
async function sample(what: string, n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    try {
      await fn();
    } catch {
      failures[what] = (failures[what] ?? 0) + 1;
    }
    out.push(performance.now() - t);
    await sleep(GAP_MS);
  }
  return out;
}

const result = startResult("logs-load", { quick });
const cluster = await startChild();
try {
  const kubeconfig = cluster.kubeconfigPath;
  const client = createHttpClient(loadKubeconfig(readFileSync(kubeconfig, "utf8")));
  await client.create(REFS.configmaps, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "probe", namespace: "default" },
    data: { a: "b" },
  });
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`${cluster.dns.host}:${cluster.dns.port}`]);
  const probeGet = () => client.get(REFS.configmaps, "default", "probe");
  const probeDns = () => resolver.resolve4("kubernetes.default.svc.cluster.local");

  // The talker: LINES lines of 100 characters, then END.
  const line = "x".repeat(100);
  await client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "talker", namespace: "default" },
    spec: {
      containers: [
        {
          name: "t",
          image: "sh",
          command: ["sh", "-c", `yes ${line} | head -n ${LINES}; echo END; sleep 3600`],
        },
      ],
    },
  });
  const t0 = performance.now();
  for (;;) {
    const r = await kubectl(kubeconfig, ["logs", "talker", "--tail=1"]);
    if (r.out === "END\n") break;
    if (performance.now() - t0 > 600_000) throw new Error(`the log never ended: ${r.out}`);
    await sleep(500);
  }
  const writeSeconds = (performance.now() - t0) / 1000;
  console.log(`log written: ${LINES} lines in ${writeSeconds.toFixed(1)} s`);

  // At rest.
  await cluster.ask({ rss: true });
  const [restGet, restDns] = await Promise.all([
    sample("get", SAMPLES, probeGet),
    sample("dns", SAMPLES, probeDns),
  ]);
  const restRss = await cluster.ask({ rss: true });

  /** Probes while READERS loops run `argv` with kubectl back to back. */
  const under = async (argv: string[], expect: (out: string) => boolean) => {
    let loading = true;
    const times: number[] = [];
    let wrong = 0;
    const loops = Array.from({ length: READERS }, async () => {
      while (loading) {
        const t = performance.now();
        const r = await kubectl(kubeconfig, argv);
        times.push(performance.now() - t);
        if (!expect(r.out)) wrong++;
      }
    });
    await sleep(1000);
    await cluster.ask({ rss: true });
    const [get, dns] = await Promise.all([
      sample("get", SAMPLES, probeGet),
      sample("dns", SAMPLES, probeDns),
    ]);
    const loop = await cluster.ask({ rss: true });
    loading = false;
    await Promise.all(loops);
    return { get, dns, times, wrong, loop };
  };
  // The control: as many kubectl processes doing a small GET (what any kubectl costs this
  // machine's CPU), then the logs.
  const control = await under(["get", "pod", "talker", "-o", "name"], (o) => o === "pod/talker\n");
  const logs = await under(["logs", "talker", "--tail=1"], (o) => o === "END\n");
  const loadGet = logs.get;
  const loadDns = logs.dns;
  const logTimes = logs.times;
  const wrong = logs.wrong;
  const loadRss = logs.loop;

  const p = (xs: number[], q: number) => ms(percentile(xs, q));
  const lines: Line[] = [];
  for (const [what, rest, ctl, load] of [
    ["probe GET (API, HTTPS)", restGet, control.get, loadGet],
    ["DNS query (UDP)", restDns, control.dns, loadDns],
  ] as const) {
    const r99 = p(rest, 99);
    const c99 = p(ctl, 99);
    const l99 = p(load, 99);
    console.log(
      `${what}: p99 at rest ${r99} ms, beside kubectl get ×${READERS} ${c99} ms, beside kubectl logs --tail=1 ×${READERS} ${l99} ms (×${ms(l99 / r99)} of at rest, ×${ms(l99 / c99)} of beside kubectl get); p50 ${p(rest, 50)} / ${p(ctl, 50)} / ${p(load, 50)} ms`,
    );
    lines.push({
      measure: `${what} p99 while kubectl logs --tail=1 of a ${Math.round((LINES * 101) / 1e6)} MB log runs ×${READERS}`,
      value: l99,
      unit: "ms",
      better: "lower",
      detail: `×${ms(l99 / r99)} of at rest (aim ≤ ${AIM_RATIO}×), ×${ms(l99 / c99)} of beside as many kubectl get (${c99} ms); p50 ${p(rest, 50)} → ${p(load, 50)} ms; ${load.length} samples`,
      anchor: { value: r99, source: "measured: the same probe at rest, same cluster and run" },
      aim: AIM_MS,
    });
  }
  console.log(`probes without an answer: ${JSON.stringify(failures)}`);
  const loopText = (l: Record<string, number>) =>
    `p99 ${ms(l.loopP99 ?? 0)} ms, max ${ms(l.loopMax ?? 0)} ms`;
  console.log(
    `cluster event-loop delay: at rest ${loopText(restRss)}, beside kubectl get ${loopText(control.loop)}, beside kubectl logs ${loopText(logs.loop)}`,
  );
  console.log(
    `kubectl get (control): ${control.times.length} runs, p50 ${p(control.times, 50)} ms, ${control.wrong} wrong answers`,
  );
  const logP50 = p(logTimes, 50);
  console.log(
    `kubectl logs --tail=1: ${logTimes.length} runs, p50 ${logP50} ms, p99 ${p(logTimes, 99)} ms, ${wrong} wrong answers`,
  );
  console.log(
    `cluster RSS: ${Math.round(restRss.rss ?? 0) >> 20} MiB at rest, peak ${Math.round(loadRss.peak ?? 0) >> 20} MiB under load`,
  );
  lines.push({
    measure: "kubectl logs --tail=1 of that log (whole command)",
    value: logP50,
    unit: "ms",
    better: "lower",
    detail: `p99 ${p(logTimes, 99)} ms, ${logTimes.length} runs, ${wrong} wrong answers`,
  });
  lines.push({
    measure: "cluster event-loop delay, max, while the log is read",
    value: ms(logs.loop.loopMax ?? 0),
    unit: "ms",
    better: "lower",
    detail: `p99 ${ms(logs.loop.loopP99 ?? 0)} ms; beside kubectl get: max ${ms(control.loop.loopMax ?? 0)} ms`,
  });
  lines.push({
    measure: "cluster process RSS peak while the log is read",
    value: Math.round(((loadRss.peak ?? 0) / 2 ** 20) * 10) / 10,
    unit: "MiB",
    better: "lower",
    detail: `at rest ${Math.round(((restRss.rss ?? 0) / 2 ** 20) * 10) / 10} MiB`,
  });
  console.log(`result: ${result.done(lines)}`);
} finally {
  await cluster.stop();
}
