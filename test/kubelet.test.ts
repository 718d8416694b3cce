/**
 * The node agent end to end: a real API server (kubectl), the EndpointSlice controller, and our
 * kubelet running pods as local processes on their own loopback IPs.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { cidrContains, parseCidr } from "../src/api/cidr.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { createInformerFactory } from "../src/client/factory.ts";
import { createHttpClient, loadKubeconfig } from "../src/client/index.ts";
import { createLogHandler, type Kubelet, startKubelet } from "../src/kubelet/index.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { NO_KUBECTL } from "./_kubectl.ts";
import { kubeletHttpGet as httpGet, leaseTestPlan, kubeletWebPod as webPod } from "./_kubelet.ts";

const NODE_NAME = "loopkube";
let ranges: Awaited<ReturnType<typeof leaseTestPlan>>;
let cp: TestControlPlane;
let kubelet: Kubelet;
let dataDir: string;
let markerDir: string;

const getPod = async (name: string) =>
  (await cp.client.get(REFS.pods, "default", name)) as KubeObject & Pod;
const isReady = (p: Pod) =>
  (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
/** The pod once its first container runs. */
const running = (name: string) =>
  waitFor(
    async () => {
      const p = await getPod(name);
      return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    },
    { what: `${name} running`, retryErrors: true },
  );

/** Started first so its slow start (a second process with its own control plane) overlaps. */
function startOrphanScript(): Promise<{ child: ChildProcess; pid: number }> {
  const script = fileURLToPath(new URL("./fixtures/kubelet-orphan.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    stdio: ["ignore", "pipe", "inherit"],
    // TMPDIR: the script cannot clean up after a kill -9; its temporary files go under ours.
    env: { ...process.env, ORPHAN_DATA_DIR: join(markerDir, "orphan"), TMPDIR: markerDir },
  });
  let out = "";
  child.stdout?.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (c: string) => {
      out += c;
      const m = /pod-pid (\d+)/.exec(out);
      if (m) resolve({ child, pid: Number(m[1]) });
    });
    child.once("exit", () => reject(new Error(`the script ended early: ${out}`)));
  });
}
let orphan: Promise<{ child: ChildProcess; pid: number }>;

before(async () => {
  markerDir = mkdtempSync(join(tmpdir(), "loopkube-marker-"));
  orphan = startOrphanScript();
  orphan.catch(() => {});
  ranges = await leaseTestPlan("kubelet-test");
  cp = await startTestControlPlane({ controllers: ["endpointslice"] });
  dataDir = mkdtempSync(join(tmpdir(), "loopkube-kubelet-"));
  kubelet = await startKubelet({
    runtime: "process",
    client: cp.client,
    informers: cp.informers,
    nodeName: NODE_NAME,
    dataDir,
    podCidr: ranges.plan.podCidr,
    nodeIP: ranges.plan.nodeIP,
    clusterDns: ranges.plan.dnsServiceIP,
    backoff: { initialMs: 200, maxMs: 5000 },
    leaseRenewMs: 500,
  });
  cp.api.server.handleSubresource(
    "pods/log",
    createLogHandler({ client: cp.client, dataDir, pollMs: 50 }),
  );
});

after(async () => {
  const o = await orphan.catch(() => undefined);
  o?.child.kill("SIGKILL");
  await kubelet?.stop();
  await cp?.stop();
  ranges?.release();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(markerDir, { recursive: true, force: true });
});

test("the node registers Ready, as kubectl get nodes shows, with a Lease", async () => {
  const r = await cp.api.kubectl(["get", "nodes", "--no-headers"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^loopkube\s+Ready\s+<none>\s+\S+\s+v1\.32\.0\+loopkube-/m);
  const node = await cp.client.get(REFS.nodes, "", NODE_NAME);
  const status = node.status as { nodeInfo: Record<string, string>; conditions: unknown[] };
  assert.match(status.nodeInfo.containerRuntimeVersion ?? "", /^loopkube-process:\/\//);
  assert.equal(status.conditions.length, 4);
  const lease = await cp.client.get(REFS.leases, "kube-node-lease", NODE_NAME);
  assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, NODE_NAME);
});

test("three pods of the HTTP fixture get distinct IPs, answer HTTP, and probes drive endpoints and restarts", async () => {
  await cp.client.create(REFS.services, "default", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  const names = ["web-0", "web-1", "web-2"];
  for (const n of names) await cp.client.create(REFS.pods, "default", webPod(n, NODE_NAME));
  const pods = await Promise.all(
    names.map((n) =>
      waitFor(
        async () => {
          const p = await getPod(n);
          return p.status?.phase === "Running" && isReady(p) ? p : undefined;
        },
        { what: `${n} ready`, retryErrors: true },
      ),
    ),
  );
  const ips = pods.map((p) => p.status?.podIP ?? "");
  assert.equal(new Set(ips).size, 3);
  const range = parseCidr(ranges.plan.podCidr);
  for (const ip of ips) assert.ok(cidrContains(range, ip), `${ip} in ${range.text}`);
  for (const [i, ip] of ips.entries()) {
    assert.deepEqual(await httpGet(ip, 8080), { status: 200, body: names[i] });
  }
  const r = await cp.api.kubectl(["get", "pods", "--no-headers"]);
  assert.match(r.stdout, /^web-0\s+1\/1\s+Running\s+0/m);

  // Readiness: flip the first pod's /ready and watch its endpoint go not ready and back.
  const endpointReady = async (ip: string) => {
    const slices = cp.informers.get<EndpointSlice & KubeObject>(REFS.endpointslices).list();
    for (const s of slices) {
      if (s.metadata?.labels?.["kubernetes.io/service-name"] !== "web") continue;
      for (const e of s.endpoints ?? []) if (e.addresses.includes(ip)) return e.conditions?.ready;
    }
    return undefined;
  };
  const ip0 = ips[0] as string;
  await waitFor(async () => (await endpointReady(ip0)) === true, {
    what: "endpoint ready",
    retryErrors: true,
  });
  await httpGet(ip0, 8080, "/toggle-ready");
  await waitFor(async () => (await endpointReady(ip0)) === false, {
    what: "endpoint not ready",
    retryErrors: true,
  });
  assert.equal(isReady(await getPod("web-0")), false);
  await httpGet(ip0, 8080, "/toggle-ready");
  await waitFor(async () => (await endpointReady(ip0)) === true, {
    what: "endpoint ready again",
    retryErrors: true,
  });

  // Liveness: make the second pod sick; the kubelet kills and restarts its container.
  const ip1 = ips[1] as string;
  await httpGet(ip1, 8080, "/sick");
  const restarted = await waitFor(
    async () => {
      const p = await getPod("web-1");
      const s = p.status?.containerStatuses?.[0];
      return (s?.restartCount ?? 0) >= 1 && s?.state?.running && isReady(p) ? s : undefined;
    },
    { what: "web-1 restarted", retryErrors: true },
  );
  // The fixture exits 0 on SIGTERM, so its killed run reads Completed, as on a real node.
  assert.equal(restarted.lastState?.terminated?.reason, "Completed");
  assert.deepEqual(await httpGet(ip1, 8080), { status: 200, body: "web-1" });
  assert.equal((await getPod("web-1")).status?.podIP, ip1, "the pod keeps its IP");
  // Events are written asynchronously by the recorder: wait for them.
  const wanted = [
    /^Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500$/,
    /^Killing: Container web failed liveness probe, will be restarted$/,
    /^Started: Started container web$/,
    /^Created: Created container: web$/,
  ];
  let reasons: string[] = [];
  await waitFor(
    async () => {
      const events = await cp.client.list(REFS.events, "default");
      reasons = events.items
        .filter((e) => (e.involvedObject as { name: string }).name === "web-1")
        .map((e) => `${e.reason}: ${e.message}`);
      return wanted.every((w) => reasons.some((r) => w.test(r)));
    },
    { what: `events of web-1 (${wanted.join(", ")})`, retryErrors: true },
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${reasons.join("\n")}`);
  });
});

test("a crashing container shows CrashLoopBackOff with a growing back-off", async () => {
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "crash", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      containers: [{ name: "c", image: "sh", command: ["sh", "-c", "echo bye; exit 3"] }],
    },
  });
  // Every status write arrives through the watch: collect the back-off messages from it.
  const seen: string[] = [];
  const off = cp.informers.get<Pod & KubeObject>(REFS.pods).addHandlers({
    onUpdate: (_old, p) => {
      if (p.metadata?.name !== "crash") return;
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      if (w?.reason === "CrashLoopBackOff" && !seen.includes(w.message ?? "")) {
        seen.push(w.message ?? "");
      }
    },
  });
  await waitFor(() => seen.length >= 3, { what: "three back-offs", retryErrors: true }).finally(
    off,
  );
  const delays = seen.map(
    (m) => /^back-off (\S+) restarting failed container=c pod=crash_default\(/.exec(m)?.[1],
  );
  assert.deepEqual(delays.slice(0, 3), ["200ms", "400ms", "800ms"]);
  const p = await getPod("crash");
  const s = p.status?.containerStatuses?.[0];
  assert.ok((s?.restartCount ?? 0) >= 2);
  assert.equal(s?.lastState?.terminated?.exitCode, 3);
  assert.equal(s?.lastState?.terminated?.reason, "Error");
  const r = await cp.api.kubectl(["get", "pod", "crash", "--no-headers"]);
  // Caught between two runs, or running (no readiness probe: a running container is ready).
  assert.match(r.stdout, /^crash\s+(0\/1\s+(CrashLoopBackOff|Error|Running)|1\/1\s+Running)\s+\d+/);
  // The kubelet's container GC keeps one dead container, and its log, per container.
  const dir = join(kubelet.podDir(p), "c");
  const runs = readdirSync(dir)
    .filter((f) => /^\d+\.log$/.test(f))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  assert.equal(runs.length, 2, runs.join(" "));
  const log = readFileSync(join(dir, runs[0] ?? ""), "utf8");
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F bye\n$/);
});

test("deleting a pod sends SIGTERM to its process, then the pod object goes away", async () => {
  const marker = join(markerDir, "term");
  const doomed = webPod("doomed", NODE_NAME, {
    labels: { app: "doomed" },
    env: [{ name: "TERM_MARKER", value: marker }],
  });
  const root = process.getuid?.() === 0;
  const web = doomed.spec?.containers[0];
  assert.ok(web);
  // Exec hooks and probes run inside the container's sandbox: they see the pod's hostname.
  web.startupProbe = {
    exec: { command: ["sh", "-c", root ? 'test "$(hostname)" = doomed' : "true"] },
    periodSeconds: 1,
  };
  web.lifecycle = {
    preStop: { exec: { command: ["sh", "-c", 'echo "preStop $(hostname)" >> "$TERM_MARKER"'] } },
  };
  await cp.client.create(REFS.pods, "default", doomed);
  await waitFor(async () => isReady(await getPod("doomed")), {
    what: "doomed ready",
    retryErrors: true,
  });
  const [pid] = kubelet.pids("default", "doomed");
  assert.ok(pid);
  const r = await cp.api.kubectl(["delete", "pod", "doomed", "--wait=true"]);
  assert.equal(r.code, 0, r.stderr);
  const host = root ? "doomed" : (await import("node:os")).hostname();
  assert.equal(readFileSync(marker, "utf8"), `preStop ${host}\nSIGTERM doomed\n`);
  await assert.rejects(getPod("doomed"), /not found/);
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  assert.equal(kubelet.podIP("default", "doomed"), undefined, "the IP is released");
});

test("kubectl delete --grace-period kills a pod that ignores SIGTERM at that period, not its spec's; a second delete cuts a running one short", async () => {
  const stubborn = (name: string): KubeObject & Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      terminationGracePeriodSeconds: 120,
      containers: [
        {
          name: "c",
          image: "busybox",
          command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
        },
      ],
    },
  });
  for (const name of ["stubborn-a", "stubborn-b"])
    await cp.client.create(REFS.pods, "default", stubborn(name));
  for (const name of ["stubborn-a", "stubborn-b"])
    await waitFor(async () => (await getPod(name)).status?.phase === "Running", {
      what: `${name} running`,
      retryErrors: true,
    });
  // The spec says 120 s: a delete that waited for it would outlast the limit below.
  const a = await cp.api.kubectl([
    "delete",
    "pod",
    "stubborn-a",
    "--grace-period=1",
    "--timeout=60s",
  ]);
  assert.equal(a.code, 0, a.stderr);
  // Deleted with the spec's 120 s, then again with 1 s while it is terminating.
  const first = await cp.api.kubectl(["delete", "pod", "stubborn-b", "--wait=false"]);
  assert.equal(first.code, 0, first.stderr);
  await waitFor(async () => (await getPod("stubborn-b")).metadata?.deletionTimestamp, {
    what: "stubborn-b terminating",
  });
  const b = await cp.api.kubectl([
    "delete",
    "pod",
    "stubborn-b",
    "--grace-period=1",
    "--timeout=60s",
  ]);
  assert.equal(b.code, 0, b.stderr);
  await assert.rejects(getPod("stubborn-b"), /not found/);
});

test("kill -9 of the process running the kubelet leaves no pod process behind", async () => {
  const { child, pid } = await orphan;
  process.kill(pid, 0); // alive now
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  await waitFor(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { what: "the pod process to die", retryErrors: true },
  );
});

test("a simulated pod runs and turns Ready without a process; a process pod without command waits", async () => {
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "sim",
      namespace: "default",
      annotations: { "loopkube.dev/runtime": "simulated" },
    },
    spec: { nodeName: NODE_NAME, containers: [{ name: "app", image: "nginx" }] },
  });
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "nocmd", namespace: "default" },
    spec: { nodeName: NODE_NAME, containers: [{ name: "app", image: "nginx" }] },
  });
  const sim = await waitFor(
    async () => {
      const p = await getPod("sim");
      return isReady(p) ? p : undefined;
    },
    { what: "sim ready", retryErrors: true },
  );
  assert.equal(sim.status?.phase, "Running");
  assert.ok(sim.status?.containerStatuses?.[0]?.state?.running);
  assert.deepEqual(kubelet.pids("default", "sim"), []);
  const waiting = await waitFor(
    async () => {
      const w = (await getPod("nocmd")).status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === "CreateContainerConfigError" ? w : undefined;
    },
    { what: "nocmd waiting", retryErrors: true },
  );
  assert.equal(waiting.message, "loopkube runs host programs: the container needs a command");
  const r = await cp.api.kubectl(["get", "pod", "nocmd", "--no-headers"]);
  assert.match(r.stdout, /^nocmd\s+0\/1\s+CreateContainerConfigError\s+0/);
});

test("a readiness probe that fails at first checks again soon, so the pod is Ready long before its period", async () => {
  // The probe's period is 30 s: without the quick re-checks the pod would wait 30 s after the
  // first (failing) check; the marker appears ~0.3 s after the start.
  const marker = join(markerDir, "ready-soon");
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "ready-soon", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "app",
          image: "sh",
          command: ["sh", "-c", `sleep 0.3; touch ${marker}; exec sleep 3600`],
          readinessProbe: { exec: { command: ["test", "-e", marker] }, periodSeconds: 30 },
        },
      ],
    },
  });
  await waitFor(async () => isReady(await getPod("ready-soon")) || undefined, {
    what: "ready-soon Ready",
    retryErrors: true,
  });
  await cp.client.delete(REFS.pods, "default", "ready-soon");
});

test("a gRPC readiness probe asks the pod's standard health service (grpc-js), as kube's does", async () => {
  // The container is a real gRPC server (grpc-js with the grpc-health-check service) on its pod IP.
  const server = [
    'const g = require("@grpc/grpc-js");',
    'const { HealthImplementation } = require("grpc-health-check");',
    "const s = new g.Server();",
    'new HealthImplementation({ "": "SERVING", db: "NOT_SERVING" }).addToServer(s);',
    's.bindAsync(process.env.POD_IP + ":50051", g.ServerCredentials.createInsecure(), (e) => e && process.exit(1));',
  ].join("\n");
  const pod = (name: string, service: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "app",
          image: "node",
          command: [process.execPath, "-e", server],
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
          readinessProbe: { grpc: { port: 50051, service }, periodSeconds: 1 },
        },
      ],
    },
  });
  await cp.client.create(REFS.pods, "default", pod("grpc-ok", ""));
  await cp.client.create(REFS.pods, "default", pod("grpc-db", "db"));
  await waitFor(async () => isReady(await getPod("grpc-ok")) || undefined, {
    what: "grpc-ok Ready",
    retryErrors: true,
  });
  // The other asks for a service that is NOT_SERVING: running, never Ready. Proof that its probe
  // has reached the server: the Unhealthy event with the gRPC status.
  const db = await running("grpc-db");
  await waitFor(
    async () => {
      const events = await cp.client.list(REFS.events, "default", {
        fieldSelector: "involvedObject.name=grpc-db,reason=Unhealthy",
      });
      return events.items.some(
        (e) =>
          e.message === 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
      );
    },
    { what: "grpc-db's readiness probe to fail with NOT_SERVING" },
  );
  assert.equal(isReady(await getPod("grpc-db")), false, `${db.metadata?.name} stays unready`);
  await cp.client.delete(REFS.pods, "default", "grpc-ok");
  await cp.client.delete(REFS.pods, "default", "grpc-db");
});

test("kubectl set image restarts the container with the new spec, as the kubelet does when a spec changes", async (t) => {
  if (NO_KUBECTL) return t.skip(NO_KUBECTL);
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "reimaged", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      terminationGracePeriodSeconds: 1,
      restartPolicy: "Never",
      containers: [{ name: "app", image: "sh:1", command: ["sleep", "3600"] }],
    },
  });
  const before = await running("reimaged");
  const [pid] = kubelet.pids("default", "reimaged");
  assert.ok(pid);
  const r = await cp.api.kubectl(["set", "image", "pod/reimaged", "app=sh:2"]);
  assert.equal(r.code, 0, r.stderr);
  // Restarted although restartPolicy is Never: a changed spec restarts whatever the policy.
  const after = await waitFor(
    async () => {
      const s = (await getPod("reimaged")).status?.containerStatuses?.[0];
      return s?.image === "sh:2" && s.state?.running ? s : undefined;
    },
    { what: "reimaged running sh:2", retryErrors: true },
  );
  assert.equal(after.restartCount, 1);
  assert.notEqual(after.containerID, before.status?.containerStatuses?.[0]?.containerID);
  assert.throws(() => process.kill(pid, 0), /ESRCH/, "the old process is gone");
  const events = await cp.client.list(REFS.events, "default", {
    fieldSelector: "involvedObject.name=reimaged,reason=Killing",
  });
  assert.deepEqual(
    events.items.map((e) => [e.message, (e.involvedObject as { fieldPath?: string }).fieldPath]),
    [["Container app definition changed, will be restarted", "spec.containers{app}"]],
  );
  await cp.client.delete(REFS.pods, "default", "reimaged");
});

test("a sidecar (restartable init container) runs beside the app, counts for readiness and stops with it", async () => {
  const sleeper = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    image: "sh",
    command: ["sleep", "3600"],
    ...extra,
  });
  // A simulated pod's regular init container completes at once, as kwok's do.
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "sim-init",
      namespace: "default",
      annotations: { "loopkube.dev/runtime": "simulated" },
    },
    spec: {
      nodeName: NODE_NAME,
      initContainers: [{ name: "setup", image: "busybox" }],
      containers: [{ name: "app", image: "nginx" }],
    },
  });
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "with-sidecar", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      terminationGracePeriodSeconds: 1,
      initContainers: [
        sleeper("proxy", { restartPolicy: "Always" }),
        { name: "setup", image: "sh", command: ["sh", "-c", "exit 0"] },
      ],
      containers: [sleeper("app")],
    },
  });
  // restartPolicy Never: once the app completes, the sidecar is stopped and the pod Succeeds.
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "job-sidecar", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      initContainers: [sleeper("proxy", { restartPolicy: "Always" })],
      containers: [{ name: "work", image: "sh", command: ["sh", "-c", "sleep 0.3"] }],
    },
  });
  const sim = await waitFor(
    async () => {
      const p = await getPod("sim-init");
      return isReady(p) ? p : undefined;
    },
    { what: "sim-init Ready", retryErrors: true },
  );
  assert.equal(sim.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  const pod = await waitFor(
    async () => {
      const p = await getPod("with-sidecar");
      return isReady(p) ? p : undefined;
    },
    { what: "with-sidecar Ready", retryErrors: true },
  );
  const inits = pod.status?.initContainerStatuses ?? [];
  assert.ok(inits.find((s) => s.name === "proxy")?.state?.running, "the sidecar runs");
  assert.equal(inits.find((s) => s.name === "setup")?.state?.terminated?.reason, "Completed");
  assert.equal(pod.status?.conditions?.find((c) => c.type === "Initialized")?.status, "True");
  assert.equal(kubelet.pids("default", "with-sidecar").length, 2, "sidecar and app processes");
  const done = await waitFor(
    async () => {
      const p = await getPod("job-sidecar");
      return p.status?.phase === "Succeeded" ? p : undefined;
    },
    { what: "job-sidecar Succeeded", retryErrors: true },
  );
  assert.ok(done.status?.initContainerStatuses?.[0]?.state?.terminated, "the sidecar stopped");
  assert.deepEqual(kubelet.pids("default", "job-sidecar"), []);
  for (const name of ["sim-init", "with-sidecar", "job-sidecar"])
    await cp.client.delete(REFS.pods, "default", name);
});

test("init containers run first; the pod's sandbox has its hostname, resolv.conf and volumes", async () => {
  const pvDir = join(dataDir, "pv", "data-1");
  await cp.client.create(REFS.configmaps, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cfg", namespace: "default" },
    data: { color: "blue" },
  });
  await cp.client.create(REFS.persistentvolumes, "", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "data-1" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: pvDir },
    },
  });
  await cp.client.create(REFS.persistentvolumeclaims, "default", {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "default" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      volumeName: "data-1",
    },
  });
  const script = [
    "hostname",
    "grep -v '^#' /etc/resolv.conf",
    "echo $(GREETING)",
    "cat /config/color; echo",
    "cat /podinfo/name; echo",
    "echo scratch > /scratch/f && cat /scratch/f",
    "echo persisted > /data/file",
  ].join("; ");
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "sandboxed", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      restartPolicy: "Never",
      initContainers: [{ name: "first", image: "sh", command: ["sh", "-c", "echo init done"] }],
      containers: [
        {
          name: "main",
          image: "sh",
          command: ["sh", "-c", script],
          env: [{ name: "GREETING", value: "hi" }],
          volumeMounts: [
            { name: "cfg", mountPath: "/config", readOnly: true },
            { name: "info", mountPath: "/podinfo" },
            { name: "scratch", mountPath: "/scratch" },
            { name: "data", mountPath: "/data" },
          ],
        },
      ],
      volumes: [
        { name: "cfg", configMap: { name: "cfg" } },
        {
          name: "info",
          downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] },
        },
        { name: "scratch", emptyDir: {} },
        { name: "data", persistentVolumeClaim: { claimName: "data" } },
      ],
    },
  });
  const p = await waitFor(
    async () => {
      const p = await getPod("sandboxed");
      const phase = p.status?.phase;
      return phase === "Succeeded" || phase === "Failed" ? p : undefined;
    },
    { what: "sandboxed done", retryErrors: true },
  );
  const lines = readFileSync(join(kubelet.podDir(p), "main", "0.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ std(out|err) F /, ""));
  assert.equal(p.status?.phase, "Succeeded", lines.join("\n"));
  assert.equal(p.status?.initContainerStatuses?.[0]?.state?.terminated?.reason, "Completed");
  if (process.getuid?.() !== 0) return; // no sandbox without root
  assert.deepEqual(lines, [
    "sandboxed",
    `nameserver ${ranges.plan.dnsServiceIP}`,
    "search default.svc.cluster.local svc.cluster.local cluster.local",
    "options ndots:5",
    "hi",
    "blue",
    "sandboxed",
    "scratch",
  ]);
  assert.equal(readFileSync(join(pvDir, "file"), "utf8"), "persisted\n");
  const r = await cp.api.kubectl(["get", "pod", "sandboxed", "--no-headers"]);
  assert.match(r.stdout, /^sandboxed\s+0\/1\s+Completed\s+0/);
});

test("kubectl logs reads the container's log: current, previous, tail, timestamps, follow", async () => {
  const logs = async (...args: string[]) => {
    const r = await cp.api.kubectl(["logs", ...args]);
    return r.code === 0 ? r.stdout : `error: ${r.stderr}`;
  };
  // The crash-looping container's current run may not have printed yet: wait until it has.
  const settled = async (args: string[], want: RegExp) =>
    waitFor(
      async () => {
        const out = await logs(...args);
        return want.test(out) ? out : undefined;
      },
      { what: `kubectl logs ${args.join(" ")} to match ${want}` },
    );
  assert.equal(await settled(["crash"], /^bye\n$/), "bye\n");
  assert.equal(await logs("crash", "--previous"), "bye\n");
  assert.match(await settled(["crash", "--timestamps"], /./), /^\d{4}-\d\d-\d\dT\S+Z bye\n$/);
  assert.match(await logs("nocmd"), /is waiting to start: CreateContainerConfigError/);
  assert.match(await logs("sandboxed", "-c", "first"), /^init done\n$/);
  await cp.client.create(REFS.pods, "default", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "talker", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      restartPolicy: "Never",
      containers: [
        {
          name: "t",
          image: "sh",
          command: ["sh", "-c", "echo one; echo two; echo three; sleep 1; echo four"],
        },
      ],
    },
  });
  await running("talker");
  assert.equal(await logs("talker", "-f"), "one\ntwo\nthree\nfour\n");
  assert.equal(await logs("talker", "--tail=2"), "three\nfour\n");
  assert.equal(await logs("talker", "--limit-bytes=6"), "one\ntw");
});

test("an agent restart stops pods gracefully and brings them back with the same IPs", async () => {
  const before = await getPod("web-2");
  const ip = before.status?.podIP ?? "";
  const [pid] = kubelet.pids("default", "web-2");
  assert.ok(pid);
  await kubelet.stop();
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  const stopped = await getPod("web-2");
  assert.ok(stopped.status?.containerStatuses?.[0]?.state?.terminated);
  assert.equal(isReady(stopped), false);
  kubelet = await startKubelet({
    runtime: "process",
    client: cp.client,
    informers: cp.informers,
    nodeName: NODE_NAME,
    dataDir,
    podCidr: ranges.plan.podCidr,
    nodeIP: ranges.plan.nodeIP,
    clusterDns: ranges.plan.dnsServiceIP,
    backoff: { initialMs: 200, maxMs: 5000 },
  });
  const back = await waitFor(
    async () => {
      const p = await getPod("web-2");
      return p.status?.containerStatuses?.[0]?.state?.running && isReady(p) ? p : undefined;
    },
    { what: "web-2 back", retryErrors: true },
  );
  assert.equal(back.status?.podIP, ip);
  assert.deepEqual(await httpGet(ip, 8080), { status: 200, body: "web-2" });
});

test("the agent runs as well over HTTPS with a kubeconfig (a real API server)", async () => {
  const client = createHttpClient(loadKubeconfig(cp.api.kubeconfig));
  const informers = createInformerFactory(client);
  informers.start();
  const dir = mkdtempSync(join(tmpdir(), "loopkube-kubelet-http-"));
  const own = await leaseTestPlan("kubelet-http-test");
  const agent = await startKubelet({
    client,
    informers,
    nodeName: "http-node",
    dataDir: dir,
    runtime: "simulated",
    podCidr: own.plan.podCidr,
  });
  try {
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "over-http", namespace: "default" },
      spec: { nodeName: "http-node", containers: [{ name: "app", image: "nginx" }] },
    });
    const p = await waitFor(
      async () => {
        const p = await getPod("over-http");
        return isReady(p) ? p : undefined;
      },
      { what: "over-http ready", retryErrors: true },
    );
    assert.ok(cidrContains(parseCidr(own.plan.podCidr), p.status?.podIP ?? ""), p.status?.podIP);
    const r = await cp.api.kubectl(["get", "node", "http-node", "--no-headers"]);
    assert.match(r.stdout, /^http-node\s+Ready\s/);
  } finally {
    await agent.stop();
    await informers.stop();
    own.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("runtime auto where images cannot run: pods run in process, a command-less one says why", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loopkube-kubelet-auto-"));
  const own = await leaseTestPlan("kubelet-auto-test");
  const warnings: string[] = [];
  const agent = await startKubelet({
    client: cp.client,
    informers: cp.informers,
    nodeName: "auto-node",
    dataDir: dir,
    oci: false,
    podCidr: own.plan.podCidr,
    onWarning: (m) => warnings.push(m),
  });
  try {
    assert.ok(
      warnings.includes(
        "pods run their command from the host (the process runtime), not their images: the oci runtime is turned off on this node",
      ),
      warnings.join("\n"),
    );
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "auto-nocmd", namespace: "default" },
      spec: { nodeName: "auto-node", containers: [{ name: "app", image: "nginx" }] },
    });
    const waiting = await waitFor(
      async () => {
        const w = (await getPod("auto-nocmd")).status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === "CreateContainerConfigError" ? w : undefined;
      },
      { what: "auto-nocmd waiting", retryErrors: true },
    );
    assert.equal(
      waiting.message,
      "loopkube runs host programs: the container needs a command (images are not run here: the oci runtime is turned off on this node)",
    );
  } finally {
    await agent.stop();
    own.release();
    rmSync(dir, { recursive: true, force: true });
  }
});
