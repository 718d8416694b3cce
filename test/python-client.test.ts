/**
 * The official Kubernetes Python client (Debian's `python3-kubernetes`) against a whole cluster:
 * list, watch (ADDED/MODIFIED/DELETED), strategic/JSON/merge patches, logs (tail, timestamps,
 * follow), exec (one-shot and interactive with an exit code) and port-forward. It sends boolean
 * query parameters as `True`, which kube reads as true. The scenarios are small Python scripts in
 * `fixtures/python-client.py`; the test skips, saying why, when the client is not installed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { run } from "./_kubectl.ts";
import { NODE } from "./_kubelet.ts";

const SCRIPT = fileURLToPath(new URL("./fixtures/python-client.py", import.meta.url));
const POD_CIDR = "127.240.0.0/16";
const SERVICE_CIDR = "127.106.0.0/16";

/** A Python that can import the client: the one on PATH, else Debian's (pyenv may shadow it). */
function findPython(): string | undefined {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    try {
      execFileSync(candidate, ["-c", "import kubernetes"], { stdio: "ignore" });
      return candidate;
    } catch {
      // Not there, or without the client.
    }
  }
  return undefined;
}

const PYTHON = findPython();
const NO_PYTHON = PYTHON
  ? false
  : "the Kubernetes Python client is not installed (apt-get install python3-kubernetes)";

/** A TCP echo server bound to the pod IP on 7000. */
const ECHO = "require('net').createServer((s) => s.pipe(s)).listen(7000, process.env.POD_IP)";

function pod(name: string, command: string[]): KubeObject & Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "main",
          image: `fixture/${name}`,
          command,
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        },
      ],
    },
  };
}

describe("the official Python client", { skip: NO_PYTHON }, () => {
  let cluster: Cluster;
  const python = async (scenario: string, ...args: string[]): Promise<Record<string, unknown>> => {
    const r = await run(PYTHON!, [SCRIPT, cluster.kubeconfigPath, scenario, ...args], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `${scenario} failed:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  before(async () => {
    cluster = await startCluster({
      runtime: "process",
      name: "pythontest",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
      podCidr: POD_CIDR,
      serviceCidr: SERVICE_CIDR,
    });
    await cluster.client.create(
      REFS.pods,
      "default",
      pod("ticker", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]),
    );
    await cluster.client.create(REFS.pods, "default", pod("echo", [NODE, "-e", ECHO]));
    for (const name of ["ticker", "echo"]) {
      await waitFor(
        async () => {
          const p = (await cluster.client.get(REFS.pods, "default", name)) as Pod;
          return p.status?.phase === "Running";
        },
        { what: `${name} Running`, retryErrors: true },
      );
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  test("lists pods", async () => {
    const r = await python("list", "default");
    assert.deepEqual(r["names"], ["echo", "ticker"]);
    assert.match(String(r["resourceVersion"]), /^\d+$/);
  });

  test("watches ADDED, MODIFIED and DELETED after strategic, JSON and merge patches", async () => {
    const r = await python("watch", "default");
    const events = (r["events"] as Array<[string, string, Record<string, string> | null]>).filter(
      ([, name]) => name === "py",
    );
    assert.deepEqual(events, [
      ["ADDED", "py", { a: "1" }],
      ["MODIFIED", "py", { a: "1", b: "2" }],
      ["MODIFIED", "py", { a: "1", b: "2", c: "3" }],
      ["MODIFIED", "py", { b: "2", c: "3" }],
      ["DELETED", "py", { b: "2", c: "3" }],
    ]);
  });

  test("reads logs: the last line, with timestamps, and followed", async () => {
    const r = await python("logs", "default", "ticker");
    assert.match(String(r["tail"]), /^tick \d+\n$/);
    assert.match(String(r["stamped"]), /^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n$/);
    const followed = r["followed"] as string[];
    assert.equal(followed.length, 2);
    const [first, second] = followed.map((l) => Number(/^tick (\d+)$/.exec(l)?.[1]));
    assert.ok(second! > first!, `a followed log grows: ${JSON.stringify(followed)}`);
  });

  test("execs a command, and an interactive one with stdin and its exit code", async () => {
    const r = await python("exec", "default", "ticker");
    assert.match(String(r["out"]), /out-42/);
    assert.equal(r["interactive"], "got:hello\n");
    assert.equal(r["returncode"], 3);
  });

  test("port-forwards to the pod's echo server", async () => {
    const r = await python("portforward", "default", "echo", "7000");
    assert.equal(r["echo"], "ping through the python client\n");
    assert.equal(r["error"], null);
  });
});
