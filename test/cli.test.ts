/**
 * The `loopkube` command as a user runs it: a child process per invocation, with HOME, KUBECONFIG
 * and XDG_DATA_HOME pointing into a temporary directory so nothing of the user's is touched.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Io } from "../src/cli/_shared.ts";
import { main } from "../src/cli/index.ts";
import { isProcessAlive, probeReadyz } from "../src/cluster/index.ts";
import { cliEnv, runLoopkube, startUp as startUpWith } from "./_cli.ts";

let home: string;
let env: NodeJS.ProcessEnv;
before(() => {
  home = mkdtempSync(join(tmpdir(), "loopkube-cli-test-"));
  env = cliEnv(home);
});
after(() => rmSync(home, { recursive: true, force: true }));

const loopkube = (args: string[]) => runLoopkube(args, env);

/**
 * Runs a command in this process (no Node start-up per call) with its output captured. The
 * environment it reads (HOME, KUBECONFIG, XDG_DATA_HOME) is set for the call and restored.
 */
async function inProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  let code = 0;
  const io: Io = {
    out: (l) => {
      stdout += `${l}\n`;
    },
    raw: (t) => {
      stdout += t;
    },
    err: (l) => {
      stderr += `${l}\n`;
    },
    setExitCode: (c) => {
      code = c;
    },
  };
  const saved = {
    HOME: process.env.HOME,
    KUBECONFIG: process.env.KUBECONFIG,
    XDG_DATA_HOME: process.env.XDG_DATA_HOME,
  };
  Object.assign(process.env, {
    HOME: env.HOME,
    KUBECONFIG: env.KUBECONFIG,
    XDG_DATA_HOME: env.XDG_DATA_HOME,
  });
  try {
    await main(["node", "loopkube", ...args], io);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, stdout, stderr };
}

const startUp = (args: string[], line: RegExp) => startUpWith(args, line, env);

describe("loopkube", () => {
  test("every command has --help", async () => {
    for (const cmd of ["up", "down", "status", "kubeconfig", "delete", "version"]) {
      const r = await inProcess([cmd, "--help"]);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: loopkube ${cmd} `), cmd);
    }
  });

  test("version prints loopkube's and the Kubernetes API version", async () => {
    const r = await inProcess(["version"]);
    assert.match(r.stdout, /^loopkube \d+\.\d+\.\d+ \(Kubernetes API v1\.\d+\.\d+\)\n$/);
  });

  test("up in the foreground prints its steps and addresses, answers /readyz, stops on SIGTERM", async () => {
    const { child, out } = await startUp(
      ["--ephemeral", "--api-port", "0", "--dns-port", "0", "--no-kubeconfig-update"],
      /Press Ctrl-C to stop\.\n/,
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    for (const step of [
      "store (memory)",
      "pki",
      "api server",
      "kubeconfig",
      "controllers",
      "dns",
      "proxy",
    ]) {
      assert.match(out(), new RegExp(` ✓ ${step.replace(/[()]/g, "\\$&")}\\s+[\\d.]+ ms\\n`), step);
    }
    assert.match(out(), /API server: {2}https:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(out(), /DNS: {9}127\.0\.0\.1:\d+\n/);
    const kubeconfigPath = /kubeconfig: {2}(\S+)\n/.exec(out())?.[1] ?? "";
    const ready = await probeReadyz(readFileSync(kubeconfigPath, "utf8"));
    assert.deepEqual(ready, { status: 200, body: "ok" });
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(out(), /SIGTERM: stopping cluster/);
    assert.ok(!existsSync(kubeconfigPath), "the ephemeral data dir is removed");
  });

  test("up on a busy API port says so in one sentence", async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await loopkube([
        "up",
        "--ephemeral",
        "--api-port",
        String(port),
        "--dns-port",
        "0",
        "--no-kubeconfig-update",
      ]);
      assert.equal(r.code, 1);
      // The sentence names the process holding the port (this test's) and the flag to use.
      assert.match(
        r.stderr,
        new RegExp(
          `^loopkube: API port ${port} on 127\\.0\\.0\\.1 is already in use by pid ${process.pid} \\(.*node.*\\); stop it or choose another port with --api-port \\(0 picks a free one\\)\n$`,
        ),
      );
    } finally {
      busy.close();
    }
  });

  test("up with a bad manifest says which file, without a stack trace", async () => {
    const bad = join(home, "bad.yaml");
    writeFileSync(bad, "apiVersion: v1\nkind: Service\nmetadata: [oops\n");
    const r = await inProcess([
      "up",
      "--ephemeral",
      "--api-port",
      "0",
      "--no-kubeconfig-update",
      "-f",
      bad,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^loopkube: manifest ${bad} is not valid YAML: [^\\n]+\\n$`));
  });

  test("up --detach runs in the background; status, kubeconfig, down and delete find it", async () => {
    const dir = join(home, "detached");
    const target = ["--name", "bg", "--data-dir", dir];
    const up = await loopkube(["up", "--detach", ...target, "--api-port", "0", "--dns-port", "0"]);
    assert.equal(up.code, 0, up.stderr);
    const pid = Number(/running in the background \(pid (\d+)\)/.exec(up.stdout)?.[1]);
    assert.ok(isProcessAlive(pid));
    try {
      const userConfig = readFileSync(join(home, "kube", "config"), "utf8");
      assert.match(userConfig, /current-context: loopkube-bg\n/);

      const status = await inProcess(["status", ...target]);
      assert.match(status.stdout, new RegExp(`cluster "bg" is running \\(pid ${pid}\\)`));
      assert.match(status.stdout, /readyz: {6}ok\n/);
      assert.match(status.stdout, /objects: {5}nodes [01], namespaces 4, pods 0, services 2,/);

      const kc = await inProcess(["kubeconfig", ...target]);
      assert.equal(kc.stdout, readFileSync(join(dir, "kubeconfig"), "utf8"));

      const down = await inProcess(["down", ...target]);
      assert.equal(down.stdout, `stopped cluster "bg" (pid ${pid})\n`);
      assert.ok(!isProcessAlive(pid));
      assert.ok(existsSync(join(dir, "state.db")), "down keeps the data");
      const stopped = await inProcess(["status", ...target]);
      assert.match(stopped.stdout, /is not running/);
      assert.equal(stopped.code, 3);

      const del = await inProcess(["delete", ...target]);
      assert.equal(del.code, 0, del.stderr);
      assert.ok(!existsSync(dir));
      assert.doesNotMatch(readFileSync(join(home, "kube", "config"), "utf8"), /loopkube-bg/);
    } finally {
      if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
