/**
 * `pods/exec` over WebSocket, as the kubelet serves `kubectl exec`: the command runs next to the
 * container's process — inside the pod's sandbox when there is one (`nsenter -t <pid> -m -u -r -w`:
 * its mount and UTS namespaces, root and working directory, so `hostname` prints the pod's), else
 * as a plain process in the container's working directory — with the container's environment
 * (read from the container process, so it is exactly what the container got). stdin, stdout and
 * stderr travel on channels 0/1/2, the closing `Status` on channel 3 (see exec_protocol.ts).
 *
 * TTY: Node has no pty, so a tty request runs the command under util-linux `script`, which gives
 * it one (stdout and stderr merged, as on a real tty); a resize message sets the pty's size with
 * `stty` on the command's terminal.
 *
 * Only WebSocket is served: a SPDY upgrade (what kubectl falls back to when the WebSocket upgrade
 * fails) is refused after the pod and container checks, so kubectl reports the same errors either
 * way. When the client goes away the command's process group is killed.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ApiVerbs } from "../api/verbs.ts";
import {
  CHANNEL,
  EXEC_PROTOCOLS,
  exitStatus,
  frame,
  type Incoming,
  internalErrorStatus,
  parseExecQuery,
  parseMessage,
  pickProtocol,
  refuse,
  StreamRequestError,
} from "./exec_protocol.ts";
import { chooseContainer, getPod, type LocateContainer } from "./exec_target.ts";
import { which } from "./process.ts";
import { acceptWebSocket, offeredProtocols } from "./websocket.ts";

export interface ExecHandlerOptions {
  client: ApiVerbs;
  locate: LocateContainer;
  onError?: (e: unknown) => void;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

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

/** Quotes argv for `sh -c` (what `script -c` runs). */
export function shellJoin(argv: string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(" ");
}

/** The argv to spawn and its working directory. */
export function execArgv(
  command: string[],
  where: { pid: number; sandboxed: boolean; tty: boolean },
): string[] {
  const inner = where.tty ? ["script", "-qfec", shellJoin(command), "/dev/null"] : command;
  return where.sandboxed
    ? ["nsenter", "-t", String(where.pid), "-m", "-u", "-r", "-w", "--", ...inner]
    : inner;
}

/** Sets the size of the pty that `script` (pid) gave its child, once the child exists. */
function resizePty(scriptPid: number, width: number, height: number, tries = 20): void {
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return;
  }
  const child = children[0];
  if (!child) {
    if (tries > 0) setTimeout(() => resizePty(scriptPid, width, height, tries - 1), 50).unref();
    return;
  }
  const tty = `/proc/${child}/fd/0`;
  const s = spawn("stty", ["-F", tty, "cols", String(width), "rows", String(height)], {
    stdio: "ignore",
  });
  s.on("error", () => {});
}

export function createExecHandler(
  options: ExecHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) => Promise<void> {
  return async (req, socket, head, { namespace, name, query }) => {
    let protocol: string;
    let found: string | undefined;
    let located: { pid: number; sandboxed: boolean };
    let spawnArgs: { argv: string[]; cwd: string; env: Record<string, string> };
    const request = parseExecQuery(query);
    try {
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
      const proc = options.locate(namespace, name, container);
      if (!proc) {
        throw new StreamRequestError(500, "InternalError", `container not found ("${container}")`);
      }
      const picked = pickProtocol(offeredProtocols(req), EXEC_PROTOCOLS);
      if (!picked) {
        throw new StreamRequestError(
          400,
          "BadRequest",
          `loopkube serves exec over WebSocket only (subprotocol ${EXEC_PROTOCOLS.join(" or ")})`,
        );
      }
      protocol = picked;
      located = proc;
      const env = processEnv(proc.pid) ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" };
      const argv = execArgv(request.command, { ...proc, tty: request.tty });
      let cwd = "/";
      if (!proc.sandboxed) {
        try {
          cwd = readlinkSync(`/proc/${proc.pid}/cwd`);
        } catch {
          cwd = process.cwd();
        }
      }
      const program = argv[0] ?? "";
      found = proc.sandboxed || request.tty ? program : which(program, env.PATH ?? "");
      spawnArgs = { argv, cwd, env };
    } catch (e) {
      if (e instanceof StreamRequestError) return refuse(socket, e);
      throw e;
    }

    const ws = await acceptWebSocket(req, socket, head, protocol);
    if (!found) {
      // Reported as the runtime does: the command could not be started.
      const message = `error executing command in container: exec: "${spawnArgs.argv[0]}": executable file not found in $PATH`;
      ws.send(frame(CHANNEL.error, JSON.stringify(internalErrorStatus(message))));
      ws.close(1000);
      return;
    }
    // Messages that arrive before the command starts (while a tty waits for its size) are queued.
    let child: ChildProcess | undefined;
    const queued: Incoming[] = [];
    let sized: ((size: { width: number; height: number }) => void) | undefined;
    const deliver = (m: Incoming) => {
      if (!child) {
        if (m.kind === "resize" && sized) sized(m);
        else queued.push(m);
        return;
      }
      if (m.kind === "stdin") child.stdin?.write(m.data);
      else if (m.kind === "close" && m.channel === CHANNEL.stdin) child.stdin?.end();
      else if (m.kind === "resize" && request.tty && child.pid !== undefined) {
        resizePty(child.pid, m.width, m.height);
      }
    };
    let open = true;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) deliver(parseMessage(data, protocol));
    });
    ws.on("error", (e) => options.onError?.(e));
    ws.on("close", () => {
      open = false;
      killGroup();
    });
    const send = (channel: number, data: Buffer | string) => {
      if (open) ws.send(frame(channel, data));
    };
    const killGroup = () => {
      const pid = child?.pid;
      if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };

    let program = found;
    let argv = spawnArgs.argv;
    if (request.tty) {
      // kubectl sends the terminal's size first: give the pty that size before the command runs.
      const size = await new Promise<{ width: number; height: number } | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 250);
        sized = (v) => {
          clearTimeout(timer);
          resolve(v);
        };
      });
      sized = undefined;
      if (size) {
        const sh = `stty cols ${size.width} rows ${size.height} 2>/dev/null; exec "$@"`;
        argv = execArgv(["sh", "-c", sh, "sh", ...request.command], { ...located, tty: true });
        program = argv[0] ?? program;
      }
    }
    if (!open) return;
    const started = spawn(program, argv.slice(1), {
      cwd: spawnArgs.cwd,
      env: spawnArgs.env,
      detached: true,
      stdio: [request.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    child = started;
    const exited = new Promise<object>((resolve) => {
      started.once("error", (e) =>
        resolve(internalErrorStatus(`error executing command in container: ${e.message}`)),
      );
      started.once("close", (code, signal) =>
        resolve(exitStatus(signal ? 128 + (SIGNALS[signal] ?? 9) : (code ?? 0), request.command)),
      );
    });
    started.stdout?.on("data", (d: Buffer) => {
      if (request.stdout || request.tty) send(CHANNEL.stdout, d);
    });
    started.stderr?.on("data", (d: Buffer) => {
      if (request.stderr) send(CHANNEL.stderr, d);
      else if (request.tty) send(CHANNEL.stdout, d);
    });
    started.stdin?.on("error", () => {});
    for (const m of queued.splice(0)) deliver(m);
    const status = await exited;
    send(CHANNEL.error, JSON.stringify(status));
    if (open) ws.close(1000);
  };
}
