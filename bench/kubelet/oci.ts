/**
 * The `oci` runtime (issue 18): container start through our runtime against `crun run` alone,
 * and pod startup one at a time with the image already unpacked.
 *
 * 1. Container start: a container running `true` from a busybox root, started and waited for,
 *    N times each way. Anchor, measured side by side: `crun run` of a prepared bundle (the same
 *    root, read-only, no overlay, no cgroup settings), wrapped in the private mount namespace that
 *    crun needs on a hybrid cgroup host (only there). Ours: OciRuntime.start (bundle with a
 *    generated config.json, overlayfs writable root, supervisor, log pipes), to its exit.
 * 2. Pod startup with a cached image: create → Ready observed through the pod informer, each in
 *    its own network namespace (as root), running `sleep` from a busybox image loaded into an
 *    image store beforehand, so each start goes through the kubelet's image step (policy
 *    IfNotPresent: present, leased) as a cluster's does. One pod at a time, then a burst of
 *    `--burst` pods (default 100; `--quick` 30) created at once.
 * 3. Disk per extra pod of the same image, with the burst's pods running: the bundles'
 *    `du` (config, overlayfs upper and work dirs) per pod, against the image root's size (what a
 *    copy of the root costs per pod where overlayfs cannot be used).
 *
 * Prints the load average, since the machine may be shared. Needs root, crun (or runc) and
 * busybox-static; says so and writes nothing otherwise.
 *
 * Run: node --import tsx bench/kubelet/oci.ts [--quick] [n=30] [--burst N]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { buildBusyboxLayout } from "../../src/_testing/index.ts";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { openImageStore } from "../../src/images/index.ts";
import { startKubelet } from "../../src/kubelet/index.ts";
import { detectOci, OciRuntime } from "../../src/kubelet/runtimes/index.ts";
import { busyboxImage, NO_OCI } from "../../test/_busybox.ts";
import { startTestControlPlane } from "../../test/_controlplane.ts";
import { leaseTestPlan } from "../../test/_kubelet.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const burstAt = args.indexOf("--burst");
const N = Number(
  args.find((a, i) => /^\d+$/.test(a) && (burstAt < 0 || i !== burstAt + 1)) ?? (quick ? 15 : 30),
);
const BURST = burstAt >= 0 ? Number(args[burstAt + 1]) : quick ? 30 : 100;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(`load average at start: ${load()} (${process.env.HOSTNAME ?? "this machine"})`);
const result = startResult("oci", { quick });
const lines: Line[] = [];

if (NO_OCI) {
  console.log(`oci bench skipped: ${NO_OCI}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "loopkube-bench-oci-"));
const image = busyboxImage(join(dir, "image"), "bench/busybox:1");
const support = await detectOci(join(dir, "scratch"));
if (!support.binary) throw new Error(support.reason);
const binary = support.binary;

const exitOf = (argv: string[]) =>
  new Promise<number>((resolve) => {
    const c = spawn(argv[0] as string, argv.slice(1), { stdio: "ignore" });
    c.on("close", (code) => resolve(code ?? -1));
  });

// 1a. crun run alone.
const bundle = join(dir, "bundle");
mkdirSync(bundle, { recursive: true });
writeFileSync(
  join(bundle, "config.json"),
  JSON.stringify({
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["true"],
      env: ["PATH=/bin"],
      cwd: "/",
    },
    root: { path: image.rootfs, readonly: true },
    hostname: "bench",
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }] },
  }),
);
const alone: number[] = [];
for (let i = 0; i < N; i++) {
  const run = [binary, "--root", join(dir, "state-alone"), "run", "--bundle", bundle, `alone-${i}`];
  const argv = support.hideCgroup2
    ? [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        `umount ${support.hideCgroup2} && exec "$@"`,
        "sh",
        ...run,
      ]
    : run;
  const t = performance.now();
  const code = await exitOf(argv);
  alone.push(performance.now() - t);
  if (code !== 0) throw new Error(`crun run exited ${code}`);
}

// 1b. Through our runtime.
const runtime = new OciRuntime({ ...support, binary }, join(dir, "data"));
const log = {
  append: () => true,
  drained: async () => {},
  close: async () => {},
} as never;
const ours: number[] = [];
const pod: Pod = {
  metadata: { name: "b", namespace: "default", uid: "u" },
  spec: { containers: [] },
};
for (let i = 0; i < N; i++) {
  const t = performance.now();
  const h = runtime.start({
    pod,
    container: { name: "c", image: image.ref },
    image,
    args: ["true"],
    env: {},
    log,
    hostname: "b",
    etc: { hosts: "/etc/hosts", hostname: "/etc/hostname", resolvConf: "/etc/resolv.conf" },
    volumes: [],
  });
  const exit = await h.exited;
  ours.push(performance.now() - t);
  if (exit.exitCode !== 0) throw new Error(`our start exited ${exit.exitCode}`);
}
runtime.removeCgroups();
const p50 = (xs: number[]) => percentile(xs, 50);
console.log(
  JSON.stringify({
    containerStart: { crunRunP50Ms: p50(alone), oursP50Ms: p50(ours), n: N },
  }),
);
lines.push({
  measure: "container start to exit (true), oci runtime, p50",
  value: p50(ours),
  unit: "ms",
  better: "lower",
  anchor: {
    value: p50(alone),
    source: `measured: ${support.kind} run of a prepared bundle${support.hideCgroup2 ? " (in a private mount namespace: hybrid cgroups)" : ""}`,
  },
  detail: `p99 ${percentile(ours, 99).toFixed(0)} ms vs ${percentile(alone, 99).toFixed(0)} ms; overlayfs ${support.overlay}; n=${N}`,
});

// 2. Pod startup with the image cached in a store, one at a time, then a burst.
const store = openImageStore({ root: join(dir, "store"), dockerConfig: false });
const layout = await buildBusyboxLayout(join(dir, "layout"), { tag: "1" });
const [cached] = await store.load(layout.dir, { name: "bench.local/busybox:1" });
if (!cached) throw new Error("the layout loaded no image");
const cp = await startTestControlPlane({ controllers: [] });
const { plan, release } = await leaseTestPlan("bench-oci");
const kubelet = await startKubelet({
  client: cp.client,
  informers: cp.informers,
  nodeName: "bench",
  dataDir: join(dir, "kubelet"),
  runtime: "oci",
  imagePulls: { store, runtimes: ["oci"] },
  podCidr: plan.podCidr,
  nodeIP: plan.nodeIP,
  shutdownGraceMs: 1000,
  maxPods: BURST + N + 10,
});
const created = new Map<string, number>();
const readyAt = new Map<string, number>();
const waiters = new Map<string, () => void>();
const off = cp.informers.get<Pod & KubeObject>(REFS.pods).addHandlers({
  onUpdate: (_o, p) => {
    const name = p.metadata?.name ?? "";
    const t0 = created.get(name);
    if (
      t0 !== undefined &&
      !readyAt.has(name) &&
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
    ) {
      readyAt.set(name, performance.now() - t0);
      waiters.get(name)?.();
    }
  },
});
const startPod = async (name: string) => {
  const ready = new Promise<void>((r) => waiters.set(name, r));
  created.set(name, performance.now());
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: "bench",
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: "c",
          image: cached.ref,
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "3600"],
        },
      ],
    },
  });
  await ready;
  return readyAt.get(name) ?? Number.NaN;
};
const deleteAll = async (names: string[]) => {
  await Promise.all(names.map((n) => cp.client.delete(REFS.pods, "default", n).catch(() => {})));
};
const latency: number[] = [];
const single: string[] = [];
for (let i = 0; i < N; i++) {
  single.push(`p-${i}`);
  latency.push(await startPod(`p-${i}`));
}
console.log(
  JSON.stringify({
    podStartup: { p50Ms: p50(latency), p99Ms: percentile(latency, 99), n: N, load: load() },
  }),
);
lines.push({
  measure: "pod startup p99 (oci, own netns, image cached in the store, one at a time)",
  value: percentile(latency, 99),
  unit: "ms",
  better: "lower",
  aim: 250,
  anchor: { value: 5000, source: "published: Kubernetes pod startup SLO, p99 ≤ 5 s" },
  detail: `p50 ${p50(latency).toFixed(0)} ms, n=${N}, load average ${load()}`,
});
await deleteAll(single);

const burstNames = Array.from({ length: BURST }, (_, i) => `b-${i}`);
const burstStart = performance.now();
const burst = await Promise.all(burstNames.map(startPod));
const burstAll = performance.now() - burstStart;
console.log(
  JSON.stringify({
    burst: {
      p50Ms: p50(burst),
      p99Ms: percentile(burst, 99),
      allReadyMs: burstAll,
      n: BURST,
      load: load(),
    },
  }),
);
lines.push({
  measure: `pod startup p99 (oci, image cached, a burst of ${BURST} created at once)`,
  value: percentile(burst, 99),
  unit: "ms",
  better: "lower",
  aim: 250,
  anchor: { value: 5000, source: "published: Kubernetes pod startup SLO, p99 ≤ 5 s" },
  detail: `p50 ${p50(burst).toFixed(0)} ms, all ${BURST} Ready in ${(burstAll / 1000).toFixed(1)} s, load average ${load()}`,
});

// 3. Disk per extra pod, the burst running.
const kib = (path: string) => Number(execFileSync("du", ["-sk", path]).toString().split(/\s/)[0]);
const bundles = join(dir, "kubelet", "oci", "containers");
const perPod = kib(bundles) / BURST;
const rootKib = kib(cached.rootfs);
console.log(
  JSON.stringify({ disk: { perPodKiB: perPod, copyKiB: rootKib, overlay: support.overlay } }),
);
lines.push({
  measure: `disk per extra pod of the same image (${support.overlay ? "overlayfs upper" : "copy"})`,
  value: perPod / 1024,
  unit: "MiB",
  better: "lower",
  anchor: {
    value: rootKib,
    source: "measured: the image's unpacked root, what a copy per pod takes",
  },
  detail: `${perPod.toFixed(0)} KiB per pod: du of ${BURST} running pods' bundles / ${BURST}; image root ${rootKib} KiB`,
});
await deleteAll(burstNames);
off();
await kubelet.stop();
await cp.stop();
release();
rmSync(dir, { recursive: true, force: true });
console.log(`wrote ${result.done(lines)}`);
