/**
 * `kubectl exec` and `kubectl port-forward` end to end with the real kubectl against a whole
 * cluster (`startCluster`, process runtime): the command runs in the pod's sandbox (hostname is
 * the pod's, as root), with the container's environment; exit codes, stdin, kube's error for an
 * unknown container; a forwarded local port reaches the pod's HTTP server. Each case runs with the
 * installed kubectl and the versioned ones present (1.29 over SPDY, 1.31 and 1.33 over WebSocket).
 *
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { request } from "node:https";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { which } from "../src/kubelet/runtimes/index.ts";
import { KUBECTL, kubectlVersions, NO_KUBECTL, run } from "./_kubectl.ts";
import { HTTP_SERVER, kubeletHttpGet, NODE } from "./_kubelet.ts";

const AS_ROOT = process.getuid?.() === 0;
const NO_SCRIPT = which("script", process.env.PATH ?? "")
  ? false
  : "util-linux script (a pty for kubectl and for the pod) is not installed";

const BINARIES: Record<string, string> = {
  installed: KUBECTL ?? "",
  // 1.29 speaks SPDY for both exec and port-forward; 1.31+ WebSocket.
  ...kubectlVersions(["1.29", "1.31", "1.33"]),
};

const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function webPod(name: string): KubeObject & Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "web",
          image: "fixture/http-server",
          command: [NODE, HTTP_SERVER],
          env: [
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "GREETING", value: "hello from $(POD_IP)" },
          ],
          ports: [{ containerPort: 8080 }],
        },
      ],
    },
  };
}

/** A TCP echo server bound to the pod IP on 7000. */
const ECHO = "require('net').createServer((s) => s.pipe(s)).listen(7000, process.env.POD_IP)";

function echoPod(name: string): KubeObject & Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "echo",
          image: "fixture/echo",
          command: [NODE, "-e", ECHO],
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        },
      ],
    },
  };
}

/** Runs `kubectl port-forward` until `stop()`; resolves once it prints its local port. */
async function portForward(
  bin: string,
  kubeconfig: string,
  args: string[],
): Promise<{
  port: number;
  /** kubectl's standard error so far. */
  stderr: () => string;
  stop: () => Promise<{ stdout: string; stderr: string }>;
}> {
  const child = spawn(bin, ["--kubeconfig", kubeconfig, "port-forward", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async () => {
    child.kill("SIGTERM");
    await closed;
    return { stdout, stderr };
  };
  try {
    const port = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`kubectl exited: ${stderr}`);
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(stdout);
        return m ? Number(m[1]) : undefined;
      },
      { what: "kubectl port-forward to listen" },
    );
    return { port, stderr: () => stderr, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Sends `data` to 127.0.0.1:port and returns what comes back before the server closes. */
function echoThrough(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    const got: Buffer[] = [];
    let n = 0;
    s.on("data", (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= data.length) s.end();
    });
    s.on("close", () => resolve(Buffer.concat(got)));
    s.on("error", reject);
    s.write(data);
  });
}

describe("kubectl exec and port-forward", { skip: NO_KUBECTL }, () => {
  let cluster: Cluster;
  /** Waits until the pod in default reaches the phase. */
  const inPhase = (name: string, phase: string) =>
    waitFor(
      async () => {
        const p = (await cluster.client.get(REFS.pods, "default", name)) as Pod;
        return p.status?.phase === phase;
      },
      { what: `${name} ${phase}`, retryErrors: true },
    );
  const kubectl = (bin: string, args: string[], input?: string) =>
    run(bin, ["--kubeconfig", cluster.kubeconfigPath, ...args], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
      ...(input !== undefined ? { input } : {}),
    });

  before(async () => {
    cluster = await startCluster({
      runtime: "process",
      name: "exectest",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    await cluster.client.create(REFS.pods, "default", webPod("web-0"));
    await cluster.client.create(REFS.pods, "default", echoPod("echo-0"));
    for (const name of ["web-0", "echo-0"]) {
      await waitFor(
        async () => {
          const p = (await cluster.client.get(REFS.pods, "default", name)) as Pod;
          return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        },
        { what: `${name} Ready`, retryErrors: true },
      );
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  test("a plain GET of pods/exec answers kube's 400 Upgrade request required", async () => {
    const r = await kubectl(BINARIES.installed ?? "kubectl", [
      "get",
      "--raw",
      "/api/v1/namespaces/default/pods/web-0/exec?command=true&stdout=true",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Upgrade request required/);
  });

  test("an upgrade request without credentials is refused with 403 (system:anonymous)", async () => {
    const url = new URL(`${cluster.apiUrl}/api/v1/namespaces/default/pods/web-0/exec?command=true`);
    const code = await new Promise<number>((resolve, reject) => {
      const req = request(url, {
        rejectUnauthorized: false,
        headers: {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("upgrade", () => reject(new Error("upgraded without credentials")));
      req.on("error", reject);
      req.end();
    });
    assert.equal(code, 403);
  });

  test("kubectl attach shows the container's output from then on", async () => {
    await cluster.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "ticker", namespace: "default" },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "t",
            image: "fixture/ticker",
            command: [
              "sh",
              "-c",
              "i=0; while :; do i=$((i+1)); echo tick $i; echo tock $i >&2; sleep 0.2; done",
            ],
          },
        ],
      },
    } as KubeObject & Pod);
    await inPhase("ticker", "Running");
    const child = spawn(BINARIES.installed ?? "kubectl", [
      "--kubeconfig",
      cluster.kubeconfigPath,
      "attach",
      "ticker",
    ]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      await waitFor(() => /tick \d+\ntick \d+\n/.test(stdout), {
        what: "two ticks through attach",
        retryErrors: true,
      });
      await waitFor(() => /tock \d+\n/.test(stderr), {
        what: "a tock on stderr",
        retryErrors: true,
      });
    } finally {
      child.kill("SIGKILL");
    }
    assert.doesNotMatch(stdout, /tock/);
  });

  test("kubectl attach -i feeds the container's stdin; with stdinOnce its end is the program's EOF", async () => {
    await cluster.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "upper", namespace: "default" },
      spec: {
        terminationGracePeriodSeconds: 1,
        restartPolicy: "Never",
        containers: [
          {
            name: "u",
            image: "fixture/upper",
            stdin: true,
            stdinOnce: true,
            command: ["sh", "-c", "tr a-z A-Z; echo done"],
          },
        ],
      },
    } as KubeObject & Pod);
    await inPhase("upper", "Running");
    const r = await run(
      BINARIES.installed ?? "kubectl",
      ["--kubeconfig", cluster.kubeconfigPath, "attach", "-i", "upper"],
      { input: "hello\nworld\n" },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /HELLO\nWORLD\ndone\n/);
    // The program saw EOF and ended: the pod completes.
    await inPhase("upper", "Succeeded");
    // A container started without stdin refuses -i with a message saying so.
    const no = await run(
      BINARIES.installed ?? "kubectl",
      ["--kubeconfig", cluster.kubeconfigPath, "attach", "-i", "ticker"],
      { input: "x\n" },
    );
    assert.notEqual(no.code, 0);
    assert.match(no.stderr, /was not started with stdin/);
  });

  test("a command whose kubectl goes away is killed", {
    skip: which("pgrep", process.env.PATH ?? "") ? false : "pgrep (procps) is not installed",
  }, async () => {
    // A marker no other process carries, so the check cannot see someone else's sleep.
    const marker = `${Date.now() % 100000}.5`;
    const child = spawn(
      BINARIES.installed ?? "kubectl",
      ["--kubeconfig", cluster.kubeconfigPath, "exec", "web-0", "--", "sleep", marker],
      { stdio: "ignore" },
    );
    const running = () => {
      try {
        return (
          execFileSync("pgrep", ["-f", `^sleep ${marker}$`])
            .toString()
            .trim() !== ""
        );
      } catch {
        return false;
      }
    };
    try {
      await waitFor(running, { what: "the exec'd sleep to run", retryErrors: true });
    } finally {
      child.kill("SIGKILL");
    }
    await waitFor(() => !running(), { what: "the exec'd sleep to be killed", retryErrors: true });
  });

  for (const [version, bin] of Object.entries(BINARIES)) {
    describe(`with kubectl ${version}`, () => {
      test("exec -- hostname prints the pod name (the pod's sandbox)", {
        skip: AS_ROOT ? false : "the pod sandbox needs root",
      }, async () => {
        const r = await kubectl(bin, ["exec", "web-0", "--", "hostname"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "web-0\n");
      });

      test("exec returns the command's exit code", async () => {
        const r = await kubectl(bin, [
          "exec",
          "web-0",
          "--",
          "sh",
          "-c",
          "echo out; echo err >&2; exit 3",
        ]);
        assert.equal(r.code, 3, r.stderr);
        assert.equal(r.stdout, "out\n");
        assert.match(r.stderr, /^err\n/);
        assert.match(r.stderr, /command terminated with exit code 3/);
      });

      test("exec -i passes stdin through and ends it", async () => {
        const r = await kubectl(bin, ["exec", "-i", "web-0", "--", "cat"], "hi\nthere\n");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "hi\nthere\n");
      });

      test("exec sees the container's environment", async () => {
        const pod = (await cluster.client.get(REFS.pods, "default", "web-0")) as Pod;
        const r = await kubectl(bin, ["exec", "web-0", "-c", "web", "--", "printenv", "GREETING"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `hello from ${pod.status?.podIP}\n`);
      });

      test("exec -it gives the command a terminal of kubectl's size", {
        skip: NO_SCRIPT,
      }, async () => {
        // kubectl needs a terminal of its own: script gives it one, of a known size.
        const cmd = `stty cols 100 rows 30; ${shellQuote(bin)} --kubeconfig ${shellQuote(cluster.kubeconfigPath)} exec -it web-0 -- sh -c 'tty; stty size'`;
        const r = await run("script", ["-qfec", cmd, "/dev/null"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^\/dev\/pts\/\d+\r\n30 100\r\n$/);
      });

      test("exec into an unknown container fails with kube's message", async () => {
        const r = await kubectl(bin, ["exec", "web-0", "-c", "nope", "--", "true"]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /container nope is not valid for pod web-0|container nope not found/,
        );
      });

      test("port-forward pod/web-0 :8080 reaches the pod's HTTP server, connection after connection", async () => {
        const pf = await portForward(bin, cluster.kubeconfigPath, ["pod/web-0", ":8080"]);
        try {
          for (let i = 0; i < 3; i++) {
            const r = await kubeletHttpGet("127.0.0.1", pf.port, "/");
            assert.deepEqual(r, { status: 200, body: "web-0" });
          }
        } finally {
          const out = await pf.stop();
          assert.match(out.stdout, /Handling connection for \d+/);
        }
      });

      test("port-forward carries a megabyte each way intact", async () => {
        const pf = await portForward(bin, cluster.kubeconfigPath, ["echo-0", ":7000"]);
        try {
          const data = Buffer.alloc(1024 * 1024);
          for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
          const back = await echoThrough(pf.port, data);
          assert.equal(back.length, data.length);
          assert.ok(back.equals(data), "the bytes came back changed");
        } finally {
          await pf.stop();
        }
      });

      test("port-forward to a port nobody listens on reports the kubelet's error", async () => {
        const pf = await portForward(bin, cluster.kubeconfigPath, ["pod/web-0", ":8089"]);
        const r = await kubeletHttpGet("127.0.0.1", pf.port, "/").catch((e: Error) => e);
        assert.ok(r instanceof Error, "no HTTP answer expected");
        await waitFor(() => /error forwarding port 8089 to pod web-0_default/.test(pf.stderr()), {
          what: "the error in kubectl's output",
        });
        const out = await pf.stop();
        assert.match(out.stderr, /connection refused|ECONNREFUSED/);
      });

      test("exec into an unknown pod fails with NotFound", async () => {
        const r = await kubectl(bin, ["exec", "missing", "--", "true"]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /pods "missing" not found/);
      });
    });
  }
});
