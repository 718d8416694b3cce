/**
 * `pods/exec` over WebSocket, as the kubelet serves `kubectl exec`: the command runs next to the
 * container's process — inside the pod's sandbox when there is one (`nsenter -t <pid> -m -u -n -r
 * -w`: its mount, UTS and network namespaces, root and working directory, so `hostname` prints the
 * pod's and 127.0.0.1 is the pod's loopback), else
 * as a plain process in the container's working directory — with the container's environment
 * (read from the container process, so it is exactly what the container got). stdin, stdout and
 * stderr travel on channels 0/1/2, the closing `Status` on channel 3 (see exec_protocol.ts).
 *
 * TTY: Node has no pty, so a tty request runs the command under util-linux `script`, which gives
 * it one (stdout and stderr merged, as on a real tty); a resize message sets the pty's size with
 * `stty` on the command's terminal (tty.ts: the deepest one, so the container's own pty under
 * `crun exec -t`, not the one `script` gave crun).
 *
 * Carriers: WebSocket (kubectl 1.30+, `v5.channel.k8s.io`/`v4.channel.k8s.io`) and a plain SPDY/3.1
 * upgrade (`v4.channel.k8s.io`; older kubectl, or its fallback when the WebSocket upgrade fails).
 * The pod and container checks come before either upgrade, so kubectl reports the same errors
 * both ways. When the client goes away the command's process group is killed.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ApiVerbs } from "../../api/verbs.ts";
import { shellJoin } from "../runtimes/index.ts";
import { which } from "../which.ts";
import {
  CHANNEL,
  EXEC_PROTOCOLS,
  type ExecRequest,
  exitStatus,
  frame,
  internalErrorStatus,
  parseExecQuery,
  parseMessage,
  pickProtocol,
  refuse,
  StreamRequestError,
} from "./exec_protocol.ts";
import { chooseContainer, getPod, type LocateContainer } from "./exec_target.ts";
import { overSocket, SpdySession } from "./spdy_session.ts";
import { resizeTerminal } from "./tty.ts";
import { acceptWebSocket, offeredProtocols } from "./websocket.ts";

export interface ExecHandlerOptions {
  client: ApiVerbs;
  locate: LocateContainer;
  onError?: (e: unknown) => void;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

const SPDY_EXEC_PROTOCOL = "v4.channel.k8s.io";

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** The container process's environment (Linux `/proc`), without the agent's own marker. */
export function processEnv(pid: number): Record<string, string> | undefined {
  try {
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    // The agent's marker, and what the sandbox script's `cd` exported: not the container's.
    delete env.LOOPKUBE_AGENT_PID;
    delete env.OLDPWD;
    delete env.PWD;
    return env;
  } catch {
    return undefined;
  }
}

/**
 * The argv to spawn: `setpriv --pdeathsig KILL` first when given (so the command dies with the
 * agent even on `kill -9`, like the containers), then nsenter into the sandbox, then `script`
 * for a tty.
 */
export function execArgv(
  command: string[],
  where: {
    pid: number;
    sandboxed: boolean;
    tty: boolean;
    setpriv?: string | undefined;
    enter?: ((tty: boolean) => string[]) | undefined;
  },
): string[] {
  // A container of the oci runtime is entered by its runtime (`crun exec`); a tty is then the
  // host's `script` around it, the runtime passing the terminal on (`exec -t`). The runtime's own
  // messages stay off that terminal unless the exec failed (containerd gives the runtime a log
  // file): a warning it logs would land in the middle of the command's output.
  const byRuntime = where.enter
    ? where.tty
      ? [
          "script",
          "-qfec",
          quietRuntime(shellJoin([...where.enter(true), ...command])),
          "/dev/null",
        ]
      : [...where.enter(false), ...command]
    : undefined;
  const inner = where.tty ? ["script", "-qfec", shellJoin(command), "/dev/null"] : command;
  const entered = byRuntime
    ? byRuntime
    : where.sandboxed
      ? ["nsenter", "-t", String(where.pid), "-m", "-u", "-n", "-r", "-w", "--", ...inner]
      : inner;
  return where.setpriv ? [where.setpriv, "--pdeathsig", "KILL", "--", ...entered] : entered;
}

/** `line` with the runtime's stderr kept aside, shown only when it exits non-zero. */
function quietRuntime(line: string): string {
  return `f=$(mktemp) || exit 125; ${line} 2>"$f"; s=$?; [ "$s" = 0 ] || cat "$f" >&2; rm -f "$f"; exit "$s"`;
}

/** What the command's process needs, checked and resolved before the connection is upgraded. */
interface Prepared {
  request: ExecRequest;
  located: { pid: number; sandboxed: boolean; enter?: (tty: boolean) => string[] };
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** The program to spawn; undefined when it cannot be found (reported after the upgrade). */
  program: string | undefined;
  setpriv?: string | undefined;
}

async function prepare(options: ExecHandlerOptions, target: Target): Promise<Prepared> {
  const { namespace, name, query } = target;
  const request = parseExecQuery(query);
  const pod = await getPod(options.client, namespace, name);
  const container = chooseContainer(pod, request.container);
  if (request.command.length === 0) {
    throw new StreamRequestError(
      400,
      "BadRequest",
      "you must specify at least one command for the container",
    );
  }
  if (!request.stdin && !request.stdout && !request.stderr) {
    throw new StreamRequestError(
      400,
      "BadRequest",
      "you must specify at least 1 of stdin, stdout, stderr",
    );
  }
  const located = options.locate(namespace, name, container);
  if (!located) {
    throw new StreamRequestError(500, "InternalError", `container not found ("${container}")`);
  }
  const env = processEnv(located.pid) ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  // Without a sandbox or tty the command is looked up as the container would (its PATH); a
  // missing one is reported after the upgrade, as the runtime reports it.
  const plain = !located.sandboxed && !request.tty;
  const found = plain ? which(request.command[0] ?? "", env.PATH ?? "") : undefined;
  const command = found ? [found, ...request.command.slice(1)] : request.command;
  const setpriv = which("setpriv", process.env.PATH ?? "");
  const argv = execArgv(command, { ...located, tty: request.tty, setpriv });
  let cwd = "/";
  if (!located.sandboxed) {
    try {
      cwd = readlinkSync(`/proc/${located.pid}/cwd`);
    } catch {
      cwd = process.cwd();
    }
  }
  const program = plain && !found ? undefined : argv[0];
  return { request, located, argv, cwd, env, program, setpriv };
}

/** Where the command's output goes, whatever carries it (WebSocket channels or SPDY streams). */
interface ExecOutput {
  stdout(bytes: Buffer): void;
  stderr(bytes: Buffer): void;
  /** Sends the closing Status and closes the connection. */
  done(status: object): void;
}

/** What the client sends, fed to the running command. */
interface ExecInput {
  stdin(bytes: Buffer): void;
  stdinEnd(): void;
  resize(width: number, height: number): void;
  /** The client went away: the command's process group is killed. */
  gone(): void;
}

/**
 * Runs the prepared command. Input that arrives before it starts is queued; with a tty the start
 * waits (briefly) for the first resize so the pty has the client's size from the beginning.
 */
function run(p: Prepared, out: ExecOutput): ExecInput {
  const { request } = p;
  let child: ChildProcess | undefined;
  let gone = false;
  const queued: ((c: ChildProcess) => void)[] = [];
  const withChild = (f: (c: ChildProcess) => void) => (child ? f(child) : queued.push(f));
  let size: { width: number; height: number } | undefined;
  let sized: (() => void) | undefined;

  const start = () => {
    if (gone) return;
    if (!p.program) {
      const message = `error executing command in container: exec: "${request.command[0]}": executable file not found in $PATH`;
      out.done(internalErrorStatus(message));
      return;
    }
    let program = p.program;
    let argv = p.argv;
    if (request.tty && size) {
      const sh = `stty cols ${size.width} rows ${size.height} 2>/dev/null; exec "$@"`;
      argv = execArgv(["sh", "-c", sh, "sh", ...request.command], {
        ...p.located,
        tty: true,
        setpriv: p.setpriv,
      });
      program = argv[0] ?? program;
    }
    const c = spawn(program, argv.slice(1), {
      cwd: p.cwd,
      env: p.env,
      detached: true,
      stdio: [request.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    child = c;
    c.once("error", (e) =>
      out.done(internalErrorStatus(`error executing command in container: ${e.message}`)),
    );
    c.once("close", (code, signal) =>
      out.done(exitStatus(signal ? 128 + (SIGNALS[signal] ?? 9) : (code ?? 0), request.command)),
    );
    c.stdout?.on("data", (d: Buffer) => {
      if (request.stdout || request.tty) out.stdout(d);
    });
    c.stderr?.on("data", (d: Buffer) => {
      if (request.stderr && !request.tty) out.stderr(d);
      else if (request.tty) out.stdout(d);
    });
    // A pipe that breaks ends that stream only; the command's exit still answers.
    c.stdin?.on("error", () => {});
    c.stdout?.on("error", () => {});
    c.stderr?.on("error", () => {});
    for (const f of queued.splice(0)) f(c);
  };

  if (request.tty) {
    const timer = setTimeout(() => sized?.(), 250);
    sized = () => {
      clearTimeout(timer);
      sized = undefined;
      start();
    };
  } else start();

  return {
    stdin: (b) => withChild((c) => c.stdin?.write(b)),
    stdinEnd: () => withChild((c) => c.stdin?.end()),
    resize(width, height) {
      if (!request.tty) return;
      if (sized) {
        size = { width, height };
        sized();
        return;
      }
      withChild((c) => {
        if (c.pid !== undefined) resizeTerminal(c.pid, width, height);
      });
    },
    gone() {
      gone = true;
      const pid = child?.pid;
      if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    },
  };
}

/** The WebSocket carrier: channel-prefixed binary messages (exec_protocol.ts). */
async function serveWebSocket(
  p: Prepared,
  conn: { req: IncomingMessage; socket: Duplex; head: Buffer; protocol: string },
  onError: (e: unknown) => void,
): Promise<void> {
  const ws = await acceptWebSocket(conn.req, conn.socket, conn.head, conn.protocol);
  let open = true;
  const send = (channel: number, data: Buffer | string) => {
    if (open) ws.send(frame(channel, data));
  };
  let finished = false;
  const input = run(p, {
    stdout: (b) => send(CHANNEL.stdout, b),
    stderr: (b) => send(CHANNEL.stderr, b),
    done(status) {
      if (finished) return;
      finished = true;
      send(CHANNEL.error, JSON.stringify(status));
      if (open) ws.close(1000);
    },
  });
  ws.on("message", (data: Buffer) => {
    // Text and binary messages alike, as kube reads them (the Python client sends text).
    const m = parseMessage(data, conn.protocol);
    if (m.kind === "stdin") input.stdin(m.data);
    else if (m.kind === "close" && m.channel === CHANNEL.stdin) input.stdinEnd();
    else if (m.kind === "resize") input.resize(m.width, m.height);
  });
  ws.on("error", onError);
  ws.on("close", () => {
    open = false;
    input.gone();
  });
}

/**
 * The SPDY carrier (kubectl before 1.30, or when the WebSocket upgrade fails): the client opens
 * one stream per `streamType` (error, stdin, stdout, stderr, resize); the command starts once
 * every expected stream is open. Resize messages are a stream of JSON objects.
 */
function serveSpdy(p: Prepared, socket: Duplex, head: Buffer, onError: (e: unknown) => void): void {
  const { request } = p;
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${SPDY_EXEC_PROTOCOL}\r\n\r\n`,
  );
  const expected = new Set(["error"]);
  if (request.stdin) expected.add("stdin");
  if (request.stdout) expected.add("stdout");
  if (request.stderr && !request.tty) expected.add("stderr");
  if (request.tty) expected.add("resize");
  const ids = new Map<string, number>();
  const types = new Map<number, string>();
  let input: ExecInput | undefined;
  let resizeText = "";
  let finished = false;
  const session = new SpdySession(overSocket(socket, head), {
    stream(id, headers) {
      const type = headers.streamtype ?? "";
      ids.set(type, id);
      types.set(id, type);
      if (input || ![...expected].every((t) => ids.has(t))) return;
      const write = (type: string, b: Buffer) => {
        const sid = ids.get(type);
        if (sid !== undefined) session.write(sid, b);
      };
      input = run(p, {
        stdout: (b) => write("stdout", b),
        stderr: (b) => write("stderr", b),
        done(status) {
          if (finished) return;
          finished = true;
          for (const t of ["stdout", "stderr"]) {
            const sid = ids.get(t);
            if (sid !== undefined) session.finish(sid);
          }
          const err = ids.get("error") as number;
          session.write(err, Buffer.from(JSON.stringify(status)));
          session.finish(err);
          session.close();
        },
      });
    },
    data(id, bytes) {
      const type = types.get(id);
      if (type === "stdin") input?.stdin(bytes);
      else if (type === "resize") {
        resizeText += bytes.toString("utf8");
        let nl = resizeText.indexOf("\n");
        while (nl >= 0) {
          const m = parseMessage(frame(CHANNEL.resize, resizeText.slice(0, nl)), "");
          if (m.kind === "resize") input?.resize(m.width, m.height);
          resizeText = resizeText.slice(nl + 1);
          nl = resizeText.indexOf("\n");
        }
      }
    },
    halfClose(id) {
      if (types.get(id) === "stdin") input?.stdinEnd();
    },
    reset() {},
    closed() {
      input?.gone();
    },
    error: onError,
  });
}

/** A plain SPDY upgrade offering the v4 remote-command protocol. */
function wantsSpdy(req: IncomingMessage): boolean {
  const raw = req.headers["x-stream-protocol-version"];
  const offered = (Array.isArray(raw) ? raw.join(",") : (raw ?? ""))
    .split(",")
    .map((x) => x.trim());
  return (
    (req.headers.upgrade ?? "").toLowerCase() === "spdy/3.1" && offered.includes(SPDY_EXEC_PROTOCOL)
  );
}

export function createExecHandler(
  options: ExecHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) => Promise<void> {
  const onError = (e: unknown) => options.onError?.(e);
  return async (req, socket, head, target) => {
    let prepared: Prepared;
    let protocol: string | undefined;
    try {
      prepared = await prepare(options, target);
      protocol = pickProtocol(offeredProtocols(req), EXEC_PROTOCOLS);
      if (!protocol && !wantsSpdy(req)) {
        throw new StreamRequestError(
          400,
          "BadRequest",
          `unable to upgrade: exec is served over WebSocket (subprotocol ${EXEC_PROTOCOLS.join(" or ")}) or SPDY/3.1 (protocol ${SPDY_EXEC_PROTOCOL})`,
        );
      }
    } catch (e) {
      if (e instanceof StreamRequestError) return refuse(socket, e);
      throw e;
    }
    if (protocol) await serveWebSocket(prepared, { req, socket, head, protocol }, onError);
    else serveSpdy(prepared, socket, head, onError);
  };
}
