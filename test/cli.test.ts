/**
 * The `loopkube` command as a user runs it: a child process per invocation, with HOME, KUBECONFIG
 * and XDG_DATA_HOME pointing into a temporary directory so nothing of the user's is touched.
 */
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { waitFor } from "../src/_testing/index.ts";
import { VERSION } from "../src/api/version.ts";
import type { Io } from "../src/cli/_shared.ts";
import { main } from "../src/cli/index.ts";
import { isProcessAlive, probeReadyz } from "../src/cluster/index.ts";
import { cliEnv, LOOPKUBE, ROOT, runLoopkube, startUp as startUpWith } from "./_cli.ts";

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
  extraEnv: NodeJS.ProcessEnv = {},
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
    NO_COLOR: process.env.NO_COLOR,
    FORCE_COLOR: process.env.FORCE_COLOR,
  };
  delete process.env.NO_COLOR;
  delete process.env.FORCE_COLOR;
  Object.assign(process.env, {
    HOME: env.HOME,
    KUBECONFIG: env.KUBECONFIG,
    XDG_DATA_HOME: env.XDG_DATA_HOME,
    ...extraEnv,
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
    const commands = ["up", "down", "status", "list", "get", "logs", "kubeconfig", "delete", "ui"];
    for (const cmd of [...commands, "completion", "version"]) {
      const r = await inProcess([cmd, "--help"]);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: loopkube ${cmd} `), cmd);
    }
  });

  test("version prints loopkube's and the Kubernetes API version", async () => {
    const r = await inProcess(["version"]);
    assert.match(r.stdout, /^loopkube \d+\.\d+\.\d+ \(Kubernetes API v1\.\d+\.\d+\)\n$/);
  });

  for (const flag of ["--version", "-V"]) {
    test(`${flag} prints the version alone`, async () => {
      const r = await inProcess([flag]);
      assert.deepEqual([r.code, r.stdout], [0, `${VERSION}\n`]);
    });
  }

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
    assert.match(out(), /web view: {4}http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}\n/);
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
    const metricsPort = await freePort();
    const up = await loopkube([
      "up",
      "--detach",
      ...target,
      "--api-port",
      "0",
      "--dns-port",
      "0",
      "--dns-metrics-port",
      String(metricsPort),
    ]);
    assert.equal(up.code, 0, up.stderr);
    const pid = Number(/running in the background \(pid (\d+)\)/.exec(up.stdout)?.[1]);
    assert.ok(isProcessAlive(pid));
    try {
      assert.match(
        up.stdout,
        new RegExp(`Stop it with: loopkube down --name bg --data-dir ${dir}\n`),
      );
      const userConfig = readFileSync(join(home, "kube", "config"), "utf8");
      assert.match(userConfig, /current-context: loopkube-bg\n/);

      const status = await inProcess(["status", ...target]);
      assert.match(status.stdout, new RegExp(`cluster "bg" is running \\(pid ${pid}\\)`));
      assert.match(status.stdout, /readyz: {6}ok\n/);
      // What the oci runtime found, or why image pods cannot run here.
      assert.match(status.stdout, /\n {2}images: {6}\S.*\n/);
      assert.match(status.stdout, /metrics: {5}https:\/\/127\.0\.0\.1:\d+\/metrics /);
      const dnsMetrics = /DNS metrics: (http:\/\/127\.0\.0\.1:(\d+)\/metrics)\n/.exec(
        status.stdout,
      );
      assert.ok(dnsMetrics, status.stdout);
      assert.equal(Number(dnsMetrics[2]), metricsPort, "--dns-metrics-port is the port served");
      assert.match(await (await fetch(dnsMetrics[1]!)).text(), /^coredns_build_info\{/m);
      assert.match(status.stdout, /objects: {5}nodes [01], namespaces 4, pods 0, services 2,/);

      const webView = /web view: {4}(\S+)\n/.exec(up.stdout)?.[1] ?? "";
      const ui = await inProcess(["ui", ...target]);
      assert.equal(ui.stdout, `${webView}\n`, "loopkube ui prints the address up printed");
      assert.equal((await fetch(webView)).status, 200);
      const bare = new URL(webView);
      bare.search = "";
      assert.equal((await fetch(bare)).status, 401, "no token, no page");

      const kc = await inProcess(["kubeconfig", ...target]);
      assert.equal(kc.stdout, readFileSync(join(dir, "kubeconfig"), "utf8"));

      const down = await inProcess(["down", ...target]);
      assert.equal(down.stdout, `stopped cluster "bg" (pid ${pid})\n`);
      assert.ok(!isProcessAlive(pid));
      assert.ok(existsSync(join(dir, "state.db")), "down keeps the data");
      const stopped = await inProcess(["status", ...target]);
      assert.match(stopped.stdout, /is not running/);
      assert.equal(stopped.code, 3);
      assert.equal((await inProcess(["ui", ...target])).code, 3);

      const del = await inProcess(["delete", ...target]);
      assert.equal(del.code, 0, del.stderr);
      assert.ok(!existsSync(dir));
      assert.doesNotMatch(readFileSync(join(home, "kube", "config"), "utf8"), /loopkube-bg/);
    } finally {
      if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  describe("up --config", () => {
    const refused: Array<[string, string, string]> = [
      [
        "a misspelt field",
        "apiVersion: loopkube.dev/v1alpha1\nkind: Cluster\nspec:\n  nodez: 3\n",
        'unknown field "spec.nodez"',
      ],
      [
        "no node",
        "apiVersion: loopkube.dev/v1alpha1\nkind: Cluster\nspec:\n  nodes: 0\n",
        "spec.nodes: must be a whole number from 1 to 10000",
      ],
      [
        "kind's own config",
        "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: []\n",
        'unknown field "nodes"; apiVersion: must be "loopkube.dev/v1alpha1"',
      ],
    ];
    for (const [what, text, problem] of refused) {
      test(`refuses ${what} in one line naming the file and the field`, async () => {
        const file = join(home, "bad-cluster.yaml");
        writeFileSync(file, text);
        const r = await inProcess(["up", "--config", file]);
        assert.deepEqual([r.code, r.stderr], [1, `loopkube: config ${file}: ${problem}\n`]);
      });
    }

    test("refuses a file that is not there", async () => {
      const file = join(home, "nowhere.yaml");
      const r = await inProcess(["up", "--config", file]);
      assert.equal(r.stderr, `loopkube: config ${file}: cannot read it (ENOENT)\n`);
    });

    test("starts what examples/cluster-config.yaml says, the flags given overriding it", async () => {
      const { child, out } = await startUp(
        [
          "--config",
          "examples/cluster-config.yaml",
          "--name",
          "from-flags",
          "--pod-cidr",
          "127.232.0.0/16",
          "--service-cidr",
          "127.132.0.0/16",
        ],
        /Press Ctrl-C to stop\.\n/,
      );
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      try {
        // The flag's name, the file's ephemeral store, manifests, wait and log level.
        assert.match(out(), /^Starting cluster "from-flags" \(ephemeral\)$/m);
        assert.match(out(), /^ {2}applied Deployment default\/my-app$/m);
        assert.match(out(), /^ {2}ready in [\d.]+ m?s$/m);
        assert.match(out(), /default\/my-headless-service +ClusterIP +None/);
        assert.match(
          out(),
          // startUp's `--runtime process` (no test pulls an image from the internet) is a flag too.
          /^info: up: config examples\/cluster-config\.yaml sets spec\.ephemeral, spec\.apiPort, spec\.dnsPort, spec\.clusterDomain, spec\.manifests, spec\.wait, spec\.updateKubeconfig, spec\.logLevel; flags override metadata\.name, spec\.runtime$/m,
        );
        assert.doesNotMatch(out(), /^debug: /m);
        assert.doesNotMatch(out(), /context loopkube-from-flags merged/, "updateKubeconfig: false");
      } finally {
        child.kill("SIGTERM");
      }
      assert.equal(await exited, 0);
    });
  });

  describe("up's logs", () => {
    // Each run stops at once on a busy API port: what it logged up to then is the test's.
    let busy: Server;
    let port: number;
    const debugConfig = () => {
      const file = join(home, "debug-cluster.yaml");
      writeFileSync(
        file,
        "apiVersion: loopkube.dev/v1alpha1\nkind: Cluster\nspec:\n  logLevel: debug\n",
      );
      return file;
    };
    before(async () => {
      busy = createServer();
      await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
      port = (busy.address() as { port: number }).port;
    });
    after(() => busy.close());
    const upArgs = (args: string[]) =>
      ["up", "--ephemeral", "--api-port", String(port), "--dns-port", "0"].concat(
        "--no-kubeconfig-update",
        args,
      );
    // In this process (its stderr is a pipe, as when a user pipes loopkube), or as its own.
    const up = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
      inProcess(upArgs(args), extraEnv);
    const upSpawned = (args: string[]) => {
      const e: NodeJS.ProcessEnv = { ...env };
      delete e.NO_COLOR;
      delete e.FORCE_COLOR;
      return runLoopkube(upArgs(args), e);
    };
    const DEBUG_LINE = /^debug: up: options \{/m;
    const COLOURED = /^\x1b\[90mdebug\x1b\[39m: up: options \{/m;
    const INFO_LINE = /^info: up: config \S+ sets spec\.logLevel$/m;

    const cases: Array<[string, () => string[], NodeJS.ProcessEnv, RegExp[], RegExp[]]> = [
      ["-vv logs debug", () => ["-vv"], {}, [DEBUG_LINE], [/\x1b\[/]],
      ["--log-level debug still works", () => ["--log-level", "debug"], {}, [DEBUG_LINE], []],
      [
        "-v overrides the config's level with info",
        () => ["-v", "--config", debugConfig()],
        {},
        [INFO_LINE],
        [/^debug: /m],
      ],
      [
        "-q overrides the config's level with errors only",
        () => ["-q", "--config", debugConfig()],
        {},
        [/^loopkube: API port \d+ on 127\.0\.0\.1 is already in use/m],
        [/^(debug|info|warn): /m],
      ],
      ["FORCE_COLOR colours the level", () => ["-vv"], { FORCE_COLOR: "1" }, [COLOURED], []],
      [
        "NO_COLOR wins over FORCE_COLOR",
        () => ["-vv"],
        { FORCE_COLOR: "1", NO_COLOR: "1" },
        [DEBUG_LINE],
        [/\x1b\[/],
      ],
      [
        "--no-color wins over FORCE_COLOR",
        () => ["-vv", "--no-color"],
        { FORCE_COLOR: "1" },
        [DEBUG_LINE],
        [/\x1b\[/],
      ],
    ];
    for (const [what, args, extraEnv, present, absent] of cases) {
      test(what, async () => {
        const r = await up(args(), extraEnv);
        assert.equal(r.code, 1, "the busy port ends the run");
        for (const re of present) assert.match(r.stderr, re);
        for (const re of absent) assert.doesNotMatch(r.stderr, re);
      });
    }

    test("-q and -v together are refused", async () => {
      const r = await up(["-q", "-v"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /option '-q, --quiet' cannot be used with option '-v, --verbose'/);
    });

    test("--log-format json: every line of stdout and stderr is one JSON record", async () => {
      const r = await upSpawned(["-vv", "--log-format", "json"]);
      assert.equal(r.code, 1);
      const records = (text: string) =>
        text
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, string>);
      const out = records(r.stdout);
      const err = records(r.stderr);
      for (const rec of [...out, ...err]) {
        assert.deepEqual(Object.keys(rec), ["time", "level", "component", "msg"]);
        assert.match(rec.time ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      assert.deepEqual(
        [out[0]?.level, out[0]?.component, out[0]?.msg],
        ["INFO", "up", 'Starting cluster "loopkube" (ephemeral)'],
      );
      assert.ok(err.some((e) => e.level === "DEBUG" && e.msg?.startsWith("options {")));
      assert.match(err.at(-1)?.msg ?? "", /^API port \d+ on 127\.0\.0\.1 is already in use/);
      assert.equal(err.at(-1)?.level, "ERROR");
    });

    const SCRIPT = spawnSync("sh", ["-c", "command -v script"]).status === 0;
    test("on a terminal the level is coloured; piped it is not", {
      skip: SCRIPT ? false : "script (util-linux) is not installed: no terminal to test",
    }, async () => {
      // util-linux's script(1) runs the command on a pseudo-terminal.
      const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
      const command = [process.execPath, ...LOOPKUBE, "up", "-vv", "--ephemeral"]
        .concat(["--api-port", String(port), "--dns-port", "0", "--no-kubeconfig-update"])
        .map(quote)
        .join(" ");
      const e: NodeJS.ProcessEnv = { ...env, TERM: "xterm" };
      delete e.NO_COLOR;
      delete e.FORCE_COLOR;
      // Both at once: each ends on the busy port.
      const [onTty, piped] = await Promise.all([
        new Promise<string>((resolve) => {
          execFile("script", ["-qec", command, "/dev/null"], { cwd: ROOT, env: e }, (_err, out) =>
            resolve(String(out)),
          );
        }),
        upSpawned(["-vv"]),
      ]);
      assert.match(onTty.replaceAll("\r", ""), COLOURED);
      assert.match(piped.stderr, DEBUG_LINE);
    });
  });

  describe("list, get clusters, status -o and logs", () => {
    const RANGES = ["--pod-cidr", "127.233.0.0/16", "--service-cidr", "127.133.0.0/16"];
    const target = ["--name", "listed"];
    const dir = () => join(home, "data", "loopkube", "listed");
    let pid = 0;
    const startDetached = async () => {
      const r = await loopkube(
        ["up", "--detach", ...target, "--api-port", "0", "--dns-port", "0"].concat([
          "--no-kubeconfig-update",
          ...RANGES,
        ]),
      );
      assert.equal(r.code, 0, r.stderr);
      pid = Number(/running in the background \(pid (\d+)\)/.exec(r.stdout)?.[1]);
      assert.ok(isProcessAlive(pid));
    };
    before(startDetached);
    after(() => {
      if (pid && isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    });

    const row = (table: string, name: string) =>
      table
        .split("\n")
        .find((l) => l.startsWith(`${name} `))
        ?.split(/\s{3,}/) ?? [];

    test("list and get clusters print a table with the running cluster", async () => {
      for (const args of [["list"], ["get", "clusters"]]) {
        const r = await inProcess(args);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          /^NAME +STATE +API-URL +DATA-DIR +POD-CIDR +SERVICE-CIDR +NODES +AGE\n/,
          args.join(" "),
        );
        const [name, state, api, dataDir, , , nodes, age] = row(r.stdout, "listed");
        assert.deepEqual([name, state, dataDir, nodes], ["listed", "running", dir(), "1"]);
        assert.match(api ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.match(age ?? "", /^\d+s$/);
      }
    });

    const formats: Array<[string, (text: string) => unknown]> = [
      ["json", (t) => JSON.parse(t)],
      ["yaml", (t) => parseYaml(t)],
    ];
    for (const [format, parse] of formats) {
      test(`list -o ${format} prints a ClusterList whose items all have the same keys`, async () => {
        const r = await inProcess(["list", "-o", format]);
        const list = parse(r.stdout) as { kind: string; items: Array<Record<string, unknown>> };
        assert.equal(list.kind, "ClusterList");
        const item = list.items.find((i) => i.name === "listed");
        assert.deepEqual(Object.keys(item ?? {}), [
          "name",
          "state",
          "pid",
          "dataDir",
          "apiUrl",
          "kubeconfigPath",
          "dns",
          "podCidr",
          "serviceCidr",
          "nodes",
          "createdAt",
        ]);
        assert.deepEqual(
          [item?.state, item?.pid, item?.dataDir, item?.nodes],
          ["running", pid, dir(), 1],
        );
      });

      test(`status -o ${format} prints a ClusterStatus with every check`, async () => {
        const r = await inProcess(["status", ...target, "-o", format]);
        assert.equal(r.code, 0, r.stderr);
        const status = parse(r.stdout) as Record<string, unknown> & {
          checks: Array<{ name: string; ok: boolean }>;
          objects: Record<string, number>;
        };
        assert.equal(status.apiVersion, "loopkube.dev/v1alpha1");
        assert.deepEqual(
          [status.kind, status.state, status.pid, status.ready, status.nodeAgent],
          ["ClusterStatus", "running", pid, true, true],
        );
        assert.deepEqual(
          status.checks.filter((c) => c.ok).map((c) => c.name),
          [
            "ping",
            "etcd",
            "apiserver",
            "controllers",
            "dns",
            "proxy",
            "ingress",
            "node-agent",
            "oci-runtime",
            "startup",
          ],
        );
        assert.equal(status.objects.namespaces, 4);
        assert.match(String(status.dnsMetricsUrl), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      });
    }

    test("list -o name prints the names alone", async () => {
      const r = await inProcess(["list", "-o", "name"]);
      assert.ok(r.stdout.split("\n").includes("listed"), r.stdout);
    });

    test("logs prints the detached cluster's log; --tail 1 its last line", async () => {
      const all = await inProcess(["logs", ...target]);
      assert.match(all.stdout, /^Starting cluster "listed" in /m);
      assert.match(all.stdout, /Press Ctrl-C to stop\.\n$/);
      const last = await inProcess(["logs", ...target, "--tail", "1"]);
      assert.equal(last.stdout, "Press Ctrl-C to stop.\n");
    });

    test("logs --follow prints lines as they come and ends when the cluster stops", async () => {
      const follow = spawn(
        process.execPath,
        [...LOOPKUBE, "logs", ...target, "--follow", "--tail", "1"],
        { cwd: ROOT, env },
      );
      let out = "";
      const exited = new Promise<number | null>((r) => follow.once("exit", (c) => r(c)));
      // It follows once it printed the last line there is; then the stop's lines must come.
      await new Promise<void>((resolve) => {
        follow.stdout.on("data", (d) => {
          out += String(d);
          if (out.includes("Press Ctrl-C to stop.\n")) resolve();
        });
      });
      assert.equal(out, "Press Ctrl-C to stop.\n");
      const down = await loopkube(["down", ...target]);
      assert.equal(down.stdout, `stopped cluster "listed" (pid ${pid})\n`);
      assert.equal(await exited, 0);
      assert.match(out, /SIGTERM: stopping cluster/);
      assert.match(out, /\nstopped\n$/);
    });

    test("a stopped cluster is listed as stopped, a killed one as stale", async () => {
      const stopped = row((await inProcess(["list"])).stdout, "listed");
      assert.deepEqual([stopped[1], stopped[2], stopped[6]], ["stopped", "<none>", "<none>"]);

      await startDetached();
      process.kill(pid, "SIGKILL");
      await waitFor(() => !isProcessAlive(pid), { what: `pid ${pid} to be gone` });
      const stale = row((await inProcess(["list"])).stdout, "listed");
      assert.deepEqual([stale[1], stale[2]], ["stale", "<none>"]);
      const status = await inProcess(["status", ...target]);
      assert.equal(status.code, 3);
      assert.match(status.stdout, new RegExp(`is not running \\(pid ${pid} is gone; stale\\)`));
      const json = JSON.parse((await inProcess(["status", ...target, "-o", "json"])).stdout);
      assert.deepEqual([json.state, json.ready, json.checks], ["stale", null, []]);
    });

    test("logs of a cluster that never ran detached says why there is none", async () => {
      const r = await inProcess(["logs", "--name", "nothing-here"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^loopkube: cluster "nothing-here" has no log in .*: only `loopkube up --detach` writes one/,
      );
    });
  });
});

/** A port free on 127.0.0.1 a moment ago (the OS's choice for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() =>
        typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}
