import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { WebSocket } from "ws";
import type { ApiVerbs } from "../../api/verbs.ts";
import { shellJoin } from "../runtimes/index.ts";
import { createExecHandler, execArgv, processEnv } from "./exec.ts";

test("shellJoin quotes only what sh would split or expand", () => {
  assert.equal(
    shellJoin(["echo", "a b", "it's", "$HOME", "x=1"]),
    `echo 'a b' 'it'\\''s' '$HOME' x=1`,
  );
  const out = execFileSync("sh", ["-c", `printf '%s|' ${shellJoin(["a b", "it's", "$HOME"])}`]);
  assert.equal(out.toString(), "a b|it's|$HOME|");
});

test("execArgv adds the death signal, enters the sandbox with nsenter and wraps a tty in script", () => {
  const enter = ["nsenter", "-t", "7", "-m", "-u", "-n", "-r", "-w", "--"];
  const cases: [Parameters<typeof execArgv>[1], string[]][] = [
    [{ pid: 7, sandboxed: false, tty: false }, ["ls", "-l"]],
    [{ pid: 7, sandboxed: true, tty: false }, [...enter, "ls", "-l"]],
    [{ pid: 7, sandboxed: false, tty: true }, ["script", "-qfec", "ls -l", "/dev/null"]],
    [
      {
        pid: 7,
        sandboxed: false,
        tty: true,
        enter: (tty) => ["crun", "exec", ...(tty ? ["-t"] : []), "c1"],
      },
      [
        "script",
        "-qfec",
        'f=$(mktemp) || exit 125; crun exec -t c1 ls -l 2>"$f"; s=$?; [ "$s" = 0 ] || cat "$f" >&2; rm -f "$f"; exit "$s"',
        "/dev/null",
      ],
    ],
    [
      {
        pid: 7,
        sandboxed: false,
        tty: false,
        enter: (tty) => ["crun", "exec", ...(tty ? ["-t"] : []), "c1"],
      },
      ["crun", "exec", "c1", "ls", "-l"],
    ],
    [
      { pid: 7, sandboxed: true, tty: false, setpriv: "/bin/setpriv" },
      ["/bin/setpriv", "--pdeathsig", "KILL", "--", ...enter, "ls", "-l"],
    ],
  ];
  for (const [where, want] of cases) assert.deepEqual(execArgv(["ls", "-l"], where), want);
});

test("processEnv reads a process's environment", {
  skip: process.platform !== "linux" && "needs /proc",
}, () => {
  const env = processEnv(process.pid);
  assert.equal(env?.PATH, process.env.PATH);
  assert.equal(processEnv(2 ** 22 + 12345), undefined);
});

describe("the exec handler without a sandbox", {
  skip: process.platform !== "linux" && "needs /proc",
}, () => {
  let container: ChildProcess;
  let server: Server;
  let port = 0;
  const pod: Pod = {
    metadata: { name: "p", namespace: "default" },
    spec: { nodeName: "n", containers: [{ name: "c" }] },
  };

  before(async () => {
    // The "container": a process with an environment and a working directory of its own.
    container = spawn("sleep", ["30"], {
      cwd: "/tmp",
      env: { PATH: process.env.PATH, FOO: "bar" },
    });
    const client = { get: async () => pod } as unknown as ApiVerbs;
    const handler = createExecHandler({
      client,
      locate: (_ns, _name, c) =>
        c === "c" && container.pid ? { pid: container.pid, sandboxed: false } : undefined,
    });
    server = createServer();
    server.on("upgrade", (req, socket, head) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      void handler(req, socket, head, { namespace: "default", name: "p", query });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    container.kill("SIGKILL");
    server.close();
  });

  /** Runs one exec and collects each channel's bytes until the server closes. */
  function exec(command: string[], stdin?: string) {
    const q = new URLSearchParams({ container: "c", stdout: "true", stderr: "true" });
    for (const c of command) q.append("command", c);
    if (stdin !== undefined) q.set("stdin", "true");
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?${q}`, ["v5.channel.k8s.io"]);
    const got: Record<number, string> = {};
    return new Promise<{ protocol: string; got: Record<number, string> }>((resolve, reject) => {
      ws.on("open", () => {
        if (stdin === undefined) return;
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
        ws.send(Buffer.from([255, 0]));
      });
      ws.on("message", (m: Buffer) => {
        const ch = m[0] ?? -1;
        got[ch] = (got[ch] ?? "") + m.subarray(1).toString();
      });
      ws.on("close", () => resolve({ protocol: ws.protocol, got }));
      ws.on("error", reject);
    });
  }

  test("runs in the container's directory with its environment and answers Success", async () => {
    const r = await exec(["sh", "-c", 'echo "$FOO $(pwd)"; echo oops >&2']);
    assert.equal(r.protocol, "v5.channel.k8s.io");
    assert.equal(r.got[1], "bar /tmp\n");
    assert.equal(r.got[2], "oops\n");
    assert.deepEqual(JSON.parse(r.got[3] ?? ""), { metadata: {}, status: "Success" });
  });

  test("passes stdin until the v5 close signal", async () => {
    const r = await exec(["cat"], "line one\nline two\n");
    assert.equal(r.got[1], "line one\nline two\n");
  });

  test("reads flags sent as True and stdin sent in text messages, as the Python client does", {
    timeout: 20_000,
  }, async () => {
    const q = new URLSearchParams({
      container: "c",
      stdout: "True",
      stderr: "True",
      stdin: "True",
    });
    for (const c of ["sh", "-c", "read line; echo got:$line"]) q.append("command", c);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?${q}`, ["v4.channel.k8s.io"]);
    const got: Record<number, string> = {};
    await new Promise<void>((resolve, reject) => {
      // A str of the channel's character and the data: a text frame.
      ws.on("open", () => ws.send("\u0000hello\n", { binary: false }));
      ws.on("message", (m: Buffer) => {
        const ch = m[0] ?? -1;
        got[ch] = (got[ch] ?? "") + m.subarray(1).toString();
      });
      ws.on("close", () => resolve());
      ws.on("error", reject);
    });
    assert.equal(got[1], "got:hello\n");
    assert.deepEqual(JSON.parse(got[3] ?? ""), { metadata: {}, status: "Success" });
  });

  test("a non-zero exit is a NonZeroExitCode Status with the code", async () => {
    const r = await exec(["sh", "-c", "exit 7"]);
    const status = JSON.parse(r.got[3] ?? "");
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "7" }]);
  });

  test("an unknown program is an internal error naming it", async () => {
    const r = await exec(["no-such-program-here"]);
    const status = JSON.parse(r.got[3] ?? "");
    assert.equal(status.reason, "InternalError");
    assert.match(status.message, /"no-such-program-here": executable file not found in \$PATH/);
  });
});
