/**
 * The node agent under faults and misuse (issue #14): a container whose log cannot be written,
 * logs rotated as the kubelet rotates them and read from their end, restart counts that survive a
 * `kill -9` of the whole cluster, and `kubectl delete pod` of a StatefulSet pod that returns every
 * time. A real API server, the StatefulSet controller, our kubelet running real processes, and the
 * real kubectl.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import type { Event, Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type KubeObject, typed } from "../src/api/types.ts";
import { createHttpClient, loadKubeconfig } from "../src/client/index.ts";
import {
  createLogHandler,
  type Kubelet,
  type LogFileSystem,
  nodeLogFileSystem,
  startKubelet,
} from "../src/kubelet/index.ts";
import { cliEnv, startUp } from "./_cli.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { leaseTestPlan } from "./_kubelet.ts";

const NODE_NAME = "hardening";
let cp: TestControlPlane;
let kubelet: Kubelet;
let dataDir: string;
let ranges: Awaited<ReturnType<typeof leaseTestPlan>>;
const warnings: string[] = [];

const fault = (code: string) =>
  Object.assign(new Error(`${code}: injected fault`), { code }) as NodeJS.ErrnoException;
let emfileOnce = true;
/** The real file system, but a pod named `readonly` gets EROFS and `emfile` one EMFILE. */
const injected: LogFileSystem = {
  ...nodeLogFileSystem,
  open: async (path) => {
    if (path.includes("/default_readonly_")) throw fault("EROFS");
    if (path.includes("/default_emfile_") && emfileOnce) {
      emfileOnce = false;
      throw fault("EMFILE");
    }
    return nodeLogFileSystem.open(path);
  },
};

const getPod = async (name: string) =>
  (await cp.client.get(REFS.pods, "default", name)) as KubeObject & Pod;
const podDir = (p: Pod) => join(dataDir, "pods", `default_${p.metadata?.name}_${p.metadata?.uid}`);
const shPod = (name: string, script: string, extra: Partial<Pod["spec"]> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: {
    nodeName: NODE_NAME,
    terminationGracePeriodSeconds: 2,
    containers: [{ name: "app", image: "sh", command: ["sh", "-c", script] }],
    ...extra,
  },
});
const running = (name: string) =>
  waitFor(
    async () => {
      const p = await getPod(name);
      return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    },
    { what: `${name} running`, retryErrors: true },
  );

before(async () => {
  // Address ranges of its own, so that other suites' pods never collide with ours.
  ranges = await leaseTestPlan("kubelet-hardening");
  cp = await startTestControlPlane({ controllers: ["statefulset"] });
  dataDir = mkdtempSync(join(tmpdir(), "loopkube-hardening-"));
  kubelet = await startKubelet({
    runtime: "process",
    client: cp.client,
    informers: cp.informers,
    nodeName: NODE_NAME,
    dataDir,
    podCidr: ranges.plan.podCidr,
    nodeIP: ranges.plan.nodeIP,
    clusterDns: ranges.plan.dnsServiceIP,
    backoff: { initialMs: 200, maxMs: 1000 },
    containerLogMaxSize: "16Ki",
    containerLogMaxFiles: 3,
    logFileSystem: injected,
    onWarning: (m) => warnings.push(m),
  });
  cp.api.server.handleSubresource(
    "pods/log",
    createLogHandler({ client: cp.client, dataDir, pollMs: 50 }),
  );
});

after(async () => {
  await kubelet?.stop();
  await cp?.stop();
  ranges?.release();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a container whose log cannot be written runs on, the agent serves on, and the operator hears why", async () => {
  // A real full disk: the log of `full`'s app is a link to /dev/full (every write: ENOSPC),
  // placed while its init container waits.
  const wait = { name: "wait", image: "sh", command: ["sleep", "1"] };
  await cp.client.create(
    REFS.pods,
    "default",
    shPod("full", "while :; do echo tick; sleep 0.02; done", { initContainers: [wait] }),
  );
  const full = await getPod("full");
  mkdirSync(join(podDir(full), "app"), { recursive: true });
  symlinkSync("/dev/full", join(podDir(full), "app", "0.log"));
  await cp.client.create(REFS.pods, "default", shPod("readonly", "echo hi; sleep 3600"));
  await cp.client.create(REFS.pods, "default", shPod("emfile", "echo started; sleep 3600"));
  await cp.client.create(REFS.pods, "default", shPod("healthy", "echo fine; sleep 3600"));

  await running("full");
  await waitFor(
    () =>
      warnings.find((w) => w.startsWith("pod default/full container app: writing its log failed")),
    { what: "the warning about full's log", retryErrors: true },
  );
  assert.match(
    warnings.find((w) => w.includes("default/full")) ?? "",
    /ENOSPC.*its output is dropped until the log can be written again/,
  );
  // The container keeps running: same process, no restart. A fixed time: nothing announces that
  // the kubelet has decided not to restart it.
  const [pid] = kubelet.pids("default", "full");
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(kubelet.pids("default", "full"), [pid]);
  assert.equal((await getPod("full")).status?.containerStatuses?.[0]?.restartCount, 0);

  // A log that cannot be created fails the container's start, as containerd's does, and only it.
  const readonly = await waitFor(
    async () => {
      const p = await getPod("readonly");
      const s = p.status?.containerStatuses?.[0];
      const t = s?.state?.terminated ?? s?.lastState?.terminated;
      return t?.reason === "StartError" ? t : undefined;
    },
    { what: "readonly's StartError", retryErrors: true },
  );
  assert.match(readonly.message ?? "", /failed to create and open log file: EROFS/);
  const events = (await cp.client.list(REFS.events, "default")).items.map((e) => typed<Event>(e));
  assert.ok(
    events.some(
      (e) =>
        e.involvedObject?.name === "readonly" &&
        e.reason === "Failed" &&
        /EROFS/.test(e.message ?? ""),
    ),
  );
  // EMFILE once: the next try starts it.
  await running("emfile");
  await running("healthy");
  if (!NO_KUBECTL) {
    const r = await cp.api.kubectl(["logs", "healthy"]);
    assert.equal(r.stdout, "fine\n", r.stderr);
    const g = await cp.api.kubectl(["get", "pods", "-o", "name"]);
    assert.match(g.stdout, /pod\/full\n/);
  }
  for (const name of ["full", "readonly", "emfile", "healthy"])
    await cp.client.delete(REFS.pods, "default", name);
});

test("logs rotate at containerLogMaxSize × containerLogMaxFiles; kubectl logs reads the current file, from its end for --tail, and -f follows across rotations", {
  skip: NO_KUBECTL,
}, async () => {
  const count = (n: number) => `i=0; while [ $i -lt ${n} ]; do echo "line $i"; i=$((i+1)); done`;
  await cp.client.create(REFS.pods, "default", shPod("chatty", `${count(3000)}; sleep 3600`));
  const logs = async (...args: string[]) => {
    const r = await cp.api.kubectl(["logs", ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const numbers = (text: string) => [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
  const consecutive = (ns: number[]) => ns.every((v, i) => i === 0 || v === (ns[i - 1] ?? 0) + 1);
  await running("chatty");
  await waitFor(async () => (await logs("chatty", "--tail=1")) === "line 2999\n", {
    what: "the last line",
    retryErrors: true,
  });
  assert.equal(await logs("chatty", "--tail=2"), "line 2998\nline 2999\n");
  // Only the current file, as the kubelet reads: the end of the output, in order.
  const current = await logs("chatty");
  const seen = numbers(current);
  assert.ok(seen.length > 0 && (seen[0] ?? 0) > 0, `starts at ${seen[0]}`);
  assert.equal(seen.at(-1), 2999);
  assert.ok(consecutive(seen));
  assert.equal(await logs("chatty", "--limit-bytes=7"), current.slice(0, 7));
  // On disk: the current file and at most two rotated ones, the older compressed.
  const dir = join(podDir(await getPod("chatty")), "app");
  const files = await waitFor(
    () => {
      const names = readdirSync(dir).sort();
      return names.length <= 3 && !names.some((f) => f.endsWith(".tmp")) ? names : undefined;
    },
    { what: "the rotated files tidied", retryErrors: true },
  );
  assert.equal(files[0], "0.log");
  assert.match(files[1] ?? "", /^0\.log\.\d{8}-\d{6}(-\d+)?\.gz$/);
  assert.match(files[2] ?? "", /^0\.log\.\d{8}-\d{6}(-\d+)?$/);
  for (const f of files) assert.ok(statSync(join(dir, f)).size < 16 * 1024 + 100, f);

  // -f while the program writes: the log rotates several times under the follower.
  await cp.client.create(
    REFS.pods,
    "default",
    shPod("stream", count(1500).replace("done", "[ $((i % 50)) -eq 0 ] && sleep 0.05; done"), {
      restartPolicy: "Never",
    }),
  );
  await running("stream");
  const followed = numbers(await logs("stream", "-f"));
  assert.equal(followed.at(-1), 1499);
  assert.ok(consecutive(followed), `a gap in ${followed.length} lines`);
  assert.ok(followed.length > 400, `${followed.length} lines`);
  for (const name of ["chatty", "stream"]) await cp.client.delete(REFS.pods, "default", name);
});

test("a client that resets its kubectl logs -f connection ends that stream only: the log file is let go, the API serves on", async () => {
  await cp.client.create(
    REFS.pods,
    "default",
    shPod("ticker", "while :; do echo tick; sleep 0.05; done"),
  );
  const pod = await running("ticker");
  const logDir = join(podDir(pod), "app");
  const openLogs = () =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(logDir);
      } catch {
        return false;
      }
    }).length;
  const writerOnly = await waitFor(() => openLogs() || undefined, {
    what: "the writer's own descriptor",
    retryErrors: true,
  });
  const { pki, server } = cp.api;
  const url = new URL(`${server.url}/api/v1/namespaces/default/pods/ticker/log?follow=true`);
  // The TCP socket under the TLS one is ours, so that it can be reset (RST), as a client that
  // crashed or a broken network resets it.
  const tcp = connect({ host: url.hostname, port: Number(url.port) });
  const tls = tlsConnect({
    socket: tcp,
    ca: pki.caCert,
    cert: pki.adminCert,
    key: pki.adminKey,
    servername: "localhost",
  });
  await new Promise<void>((resolve, reject) => {
    const req = httpsRequest(url, { createConnection: () => tls }, (res) => {
      res.once("data", () => {
        tcp.resetAndDestroy();
        resolve();
      });
      res.on("error", () => {});
    });
    req.on("error", (e) => (/reset|hang up/.test(e.message) ? resolve() : reject(e)));
    req.end();
  });
  await waitFor(() => openLogs() === writerOnly, {
    what: "the follower's file closed",
    retryErrors: true,
  });
  const r = await cp.client.get(REFS.pods, "default", "ticker");
  assert.equal(r.metadata.name, "ticker");
  await cp.client.delete(REFS.pods, "default", "ticker");
});

test("kubectl delete pod of a StatefulSet pod returns every time, 20 in a row", {
  skip: NO_KUBECTL,
}, async () => {
  await cp.client.create(REFS.statefulsets, "default", {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      serviceName: "web",
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          nodeName: NODE_NAME,
          containers: [{ name: "app", image: "sh", command: ["sleep", "3600"] }],
        },
      },
    },
  });
  let uid = "";
  for (let i = 0; i < 20; i++) {
    const pod = await waitFor(
      async () => {
        const p = await getPod("web-1");
        return p.metadata?.uid !== uid && p.status?.containerStatuses?.[0]?.state?.running
          ? p
          : undefined;
      },
      { what: `web-1 running (round ${i})`, retryErrors: true },
    );
    uid = pod.metadata?.uid ?? "";
    const started = Date.now();
    const r = await cp.api.kubectl(["delete", "pod", "web-1", "--timeout=30s"]);
    assert.equal(r.code, 0, `round ${i}: ${r.stderr} (after ${Date.now() - started} ms)`);
    assert.equal(r.stdout, 'pod "web-1" deleted\n');
  }
  await cp.client.delete(REFS.statefulsets, "default", "web");
});

test("after kill -9 of the whole cluster and a new start on its data dir, each container's restart counts it, as after a node's reboot", async () => {
  const home = mkdtempSync(join(tmpdir(), "loopkube-restarts-"));
  const clusterDir = join(home, "cluster");
  const manifest = join(home, "pod.yaml");
  writeFileSync(
    manifest,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "survivor", namespace: "default" },
      spec: { containers: [{ name: "app", image: "sh", command: ["sleep", "3600"] }] },
    }),
  );
  // Its address ranges are chosen at the first start and kept on its data dir.
  const args = [
    "--data-dir",
    clusterDir,
    "--api-port",
    "0",
    "--dns-port",
    "0",
    "--no-kubeconfig-update",
  ];
  const client = () =>
    createHttpClient(loadKubeconfig(readFileSync(join(clusterDir, "kubeconfig"), "utf8")));
  const survivor = async (uidOf?: string) =>
    waitFor(
      async () => {
        const p = (await client().get(REFS.pods, "default", "survivor")) as KubeObject & Pod;
        const s = p.status?.containerStatuses?.[0];
        return s?.state?.running && s.containerID !== uidOf ? s : undefined;
      },
      { what: "survivor running", timeoutMs: 30_000, retryErrors: true },
    );
  const up = (extra: string[]) =>
    startUp([...args, ...extra], /Press Ctrl-C to stop\.\n/, cliEnv(home));
  let { child } = await up(["-f", manifest]);
  try {
    const first = await survivor();
    assert.equal(first.restartCount, 0);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    ({ child } = await up([]));
    const second = await survivor(first.containerID);
    assert.equal(second.restartCount, 1);
    // The container that was running when the node went down, as containerd reports it.
    assert.equal(second.lastState?.terminated?.reason, "Unknown");
    assert.equal(second.lastState?.terminated?.exitCode, 255);
    if (KUBECTL) {
      const r = await run(KUBECTL, [
        "--kubeconfig",
        join(clusterDir, "kubeconfig"),
        "get",
        "pod",
        "survivor",
        "--no-headers",
      ]);
      assert.match(r.stdout, /^survivor\s+1\/1\s+Running\s+1 \(/, r.stderr);
    }
    // A graceful stop and start counts once more: the node went down again. (The whole cluster
    // stops with its agent, which then writes no status: the runtime knows no exit code.)
    const stopped = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await stopped;
    ({ child } = await up([]));
    const third = await survivor(second.containerID);
    assert.equal(third.restartCount, 2);
    assert.equal(third.lastState?.terminated?.containerID, second.containerID);
  } finally {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    }
    rmSync(home, { recursive: true, force: true });
  }
});
