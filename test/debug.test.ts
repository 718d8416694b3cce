/**
 * `kubectl debug` end to end with the real kubectl against a whole cluster (process runtime):
 * ephemeral containers added through `pods/ephemeralcontainers` run once in the pod (in the
 * target container's namespaces with `--target`), report `ephemeralContainerStatuses`, and
 * logs, attach (with stdin, and with a tty under util-linux `script`) and exec reach them;
 * kube's validation answers through kubectl; `--copy-to` and `debug node/<node>` run their
 * pods; a simulated pod's ephemeral container is simulated.
 *
 * @module
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ContainerStatus, Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { which } from "../src/kubelet/runtimes/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { ttySession } from "./_tty.ts";

const AS_ROOT = process.getuid?.() === 0;
const NO_SCRIPT = which("script", process.env.PATH ?? "")
  ? false
  : "util-linux script (a terminal for kubectl and for the container) is not installed";

function appPod(name: string, annotations?: Record<string, string>): KubeObject & Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) },
    spec: {
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: "data", emptyDir: {} }],
      containers: [
        {
          name: "app",
          image: "busybox",
          command: ["sh", "-c", "echo marker > /data/marker; exec sleep 3600"],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        },
      ],
    },
  };
}

describe("kubectl debug", { skip: NO_KUBECTL }, () => {
  let cluster: Cluster;
  const kubectl = (args: string[], input?: string) =>
    run(KUBECTL ?? "kubectl", ["--kubeconfig", cluster.kubeconfigPath, ...args], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
      ...(input !== undefined ? { input } : {}),
    });
  const ephemeralStatus = (pod: string, container: string) =>
    waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", pod)) as Pod;
        return p.status?.ephemeralContainerStatuses?.find((s) => s.name === container);
      },
      { what: `${pod} ${container} status` },
    );
  const until = (pod: string, container: string, ok: (s: ContainerStatus) => boolean) =>
    waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", pod)) as Pod;
        const s = p.status?.ephemeralContainerStatuses?.find((x) => x.name === container);
        return s && ok(s) ? s : undefined;
      },
      { what: `${pod} ${container}` },
    );

  const appRunning = (name: string) =>
    waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", name)) as Pod;
        return p.status?.containerStatuses?.[0]?.state?.running !== undefined;
      },
      { what: `${name} running`, retryErrors: true },
    );

  before(async () => {
    cluster = await startCluster({
      runtime: "process",
      name: "debugtest",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    await cluster.client.create(REFS.pods, "default", appPod("app"));
    await appRunning("app");
  });

  after(async () => {
    await cluster?.stop();
  });

  test("a non-interactive debug container runs once and kubectl logs -c shows its output", async () => {
    const r = await kubectl([
      "debug",
      "pod/app",
      "--image=busybox",
      "-c",
      "dbg",
      "--",
      "sh",
      "-c",
      "echo hello from dbg; hostname",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = await until("app", "dbg", (x) => x.state?.terminated !== undefined);
    assert.equal(s.state?.terminated?.exitCode, 0);
    assert.equal(s.ready, false);
    assert.equal(s.restartCount, 0);
    const logs = await kubectl(["logs", "app", "-c", "dbg"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^hello from dbg$/m);
    if (AS_ROOT) assert.match(logs.stdout, /^app$/m, "in the pod's sandbox: its hostname");
    // Never restarted: the status stays terminated.
    await new Promise((r) => setTimeout(r, 1500));
    const again = await ephemeralStatus("app", "dbg");
    assert.equal(again.restartCount, 0);
    assert.ok(again.state?.terminated);
  });

  test("debug -i --target attaches stdin and runs in the target container's namespaces", async () => {
    const r = await kubectl(
      [
        "debug",
        "-i",
        "pod/app",
        "--image=busybox",
        "--target=app",
        "-c",
        "dbg-i",
        "--",
        "sh",
        "-c",
        "read x; echo got $x; cat /data/marker 2>&1",
      ],
      "piped-in\n",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /Targeting container "app"/);
    assert.match(r.stdout, /^got piped-in$/m);
    // The target's mount namespace has its emptyDir at /data (the sandbox needs root).
    if (AS_ROOT) assert.match(r.stdout, /^marker$/m);
  });

  test("debug -it gives the ephemeral container a terminal", { skip: NO_SCRIPT }, async () => {
    const cmd = [
      KUBECTL,
      "--kubeconfig",
      cluster.kubeconfigPath,
      "debug",
      "-it",
      "pod/app",
      "--image=busybox",
      "--target=app",
      "-c",
      "dbg-tty",
      "--",
      "sh",
    ].join(" ");
    // kubectl needs a terminal of its own for -t: script gives it one; the input comes late
    // enough for the attach to be there (kubectl attaches once the container runs).
    const input = join(cluster.dataDir, "tty-input.sh");
    writeFileSync(input, "sleep 3; echo 'tty -s && echo has-a-tty; exit'\n");
    const r = await run("sh", ["-c", `sh ${input} | script -qfec "${cmd}" /dev/null`], {
      timeoutMs: 60_000,
    });
    assert.match(r.stdout, /^has-a-tty\r?$/m, r.stdout + r.stderr);
    const s = await until("app", "dbg-tty", (x) => x.state?.terminated !== undefined);
    assert.equal(s.state?.terminated?.exitCode, 0);
  });

  test("kubectl run -it --rm: a shell on a tty sized as kubectl's, then the pod is deleted", {
    skip: NO_SCRIPT,
  }, async () => {
    const t = ttySession([
      KUBECTL ?? "kubectl",
      "--kubeconfig",
      cluster.kubeconfigPath,
      "run",
      "-it",
      "--rm",
      "t",
      "--image=busybox",
      "--restart=Never",
      // The process runtime runs host programs: `sh` as the command, not as the image's args.
      "--command",
      "--",
      "sh",
    ]);
    await t.expect(/If you don't see a command prompt, try pressing enter\./);
    t.send("\n");
    await t.expect(/[#$] /);
    t.send("tty; stty size; echo round-$((40+2))\n");
    await t.expect(/^\/dev\/pts\/\d+\r$/m);
    await t.expect(/^33 91\r$/m);
    await t.expect(/^round-42\r$/m);
    t.send("exit\n");
    assert.equal(await t.done(), 0, t.output);
    assert.match(t.output, /pod "t" deleted/);
  });

  test("kubectl exec -c reaches a running ephemeral container", async () => {
    const r = await kubectl([
      "debug",
      "pod/app",
      "--image=busybox",
      "-c",
      "sleeper",
      "--",
      "sleep",
      "3600",
    ]);
    assert.equal(r.code, 0, r.stderr);
    await until("app", "sleeper", (x) => x.state?.running !== undefined);
    const e = await kubectl(["exec", "app", "-c", "sleeper", "--", "echo", "inside"]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout.trim(), "inside");
  });

  test("kube's validation answers through kubectl", async () => {
    const dup = await kubectl(["debug", "pod/app", "--image=busybox", "-c", "app", "--", "true"]);
    assert.notEqual(dup.code, 0);
    assert.match(
      dup.stderr,
      /The Pod "app" is invalid: spec\.ephemeralContainers\[\d+\]\.name: Duplicate value: "app"/,
    );
    const target = await kubectl([
      "debug",
      "pod/app",
      "--image=busybox",
      "--target=nope",
      "-c",
      "x1",
      "--",
      "true",
    ]);
    assert.notEqual(target.code, 0);
    assert.match(
      target.stderr,
      /spec\.ephemeralContainers\[\d+\]\.targetContainerName: Not found: "nope"/,
    );
    const pod = (await cluster.client.get(REFS.pods, "default", "app")) as Pod;
    const removed = structuredClone(pod);
    removed.spec = { ...removed.spec!, ephemeralContainers: [] };
    const file = join(cluster.dataDir, "removed.json");
    writeFileSync(file, JSON.stringify(removed));
    const rm = await kubectl([
      "replace",
      "--raw",
      "/api/v1/namespaces/default/pods/app/ephemeralcontainers",
      "-f",
      file,
    ]);
    assert.notEqual(rm.code, 0);
    assert.match(
      rm.stderr,
      /spec\.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed/,
    );
  });

  test("debug --copy-to runs a copy of the pod with the debug container beside the app", async () => {
    const r = await kubectl([
      "debug",
      "app",
      "--copy-to=app-copy",
      "--image=busybox",
      "-c",
      "dbg",
      "--",
      "sh",
      "-c",
      "echo in the copy; exec sleep 3600",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const copy = await waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", "app-copy")) as Pod;
        const running = (p.status?.containerStatuses ?? []).filter((s) => s.state?.running);
        return running.length === 2 ? p : undefined;
      },
      { what: "app-copy with 2 running containers", retryErrors: true },
    );
    assert.deepEqual(
      copy.spec?.containers.map((c) => c.name),
      ["app", "dbg"],
    );
    assert.equal(copy.spec?.ephemeralContainers, undefined);
    const logs = await waitFor(
      async () => {
        const l = await kubectl(["logs", "app-copy", "-c", "dbg"]);
        return l.stdout.includes("in the copy") ? l.stdout : undefined;
      },
      { what: "the copy's debug container's log" },
    );
    assert.match(logs, /^in the copy$/m);
  });

  test("debug node/<node> runs a host pod with the node's root at /host", async () => {
    const node = (await kubectl(["get", "nodes", "-o", "name"])).stdout.trim().split("\n")[0] ?? "";
    const r = await kubectl([
      "debug",
      node,
      "--image=busybox",
      "--",
      "sh",
      "-c",
      "echo on the node; test -d /host/proc && echo host-root",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const name = /Creating debugging pod (\S+) with container debugger/.exec(
      r.stdout + r.stderr,
    )?.[1];
    assert.ok(name, r.stdout + r.stderr);
    const pod = await waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", name)) as Pod;
        return p.status?.phase === "Succeeded" ? p : undefined;
      },
      { what: `${name} Succeeded`, retryErrors: true },
    );
    assert.equal(pod.spec?.hostNetwork, true);
    assert.equal(pod.spec?.hostPID, true);
    const logs = await kubectl(["logs", name]);
    assert.match(logs.stdout, /^on the node$/m);
    if (AS_ROOT) assert.match(logs.stdout, /^host-root$/m);
  });

  test("a simulated pod's ephemeral container is simulated: running, no process", async () => {
    await cluster.client.create(
      REFS.pods,
      "default",
      appPod("sim", { "loopkube.dev/runtime": "simulated" }),
    );
    await appRunning("sim");
    const r = await kubectl(["debug", "pod/sim", "--image=busybox", "-c", "dbg", "--", "sh"]);
    assert.equal(r.code, 0, r.stderr);
    const s = await until("sim", "dbg", (x) => x.state?.running !== undefined);
    assert.equal(s.ready, false);
  });
});
