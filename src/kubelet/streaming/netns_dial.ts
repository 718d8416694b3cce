/**
 * Connecting to a port inside a pod's network namespace, as the kubelet's port-forward does (it
 * dials localhost in the pod's namespace): the agent cannot enter a namespace itself (setns is
 * per thread, and Node offers none), so a short-lived helper started in it (`nsenter --net=<path>
 * node -e …`) connects and hands the connected socket back over its IPC channel (the descriptor
 * travels as SCM_RIGHTS), then exits. The agent then owns an ordinary TCP socket: half-close,
 * back-pressure and errors behave as on any other, and no process stays between the two ends.
 *
 * The helper tries 127.0.0.1 first, then the pod IP: a program here may bind only its `POD_IP`
 * (the host-network mode's habit), which a real cluster's port-forward would not reach.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { Socket } from "node:net";

// argv: port, then the addresses to try in order. The socket stays paused until handed over, so
// nothing a server says first is read here.
const HELPER = [
  'const net = require("net");',
  "const [port, ...hosts] = process.argv.slice(1);",
  "const errors = [];",
  "const next = () => {",
  "  const host = hosts.shift();",
  '  if (!host) return process.send({ error: errors.join("; ") }, () => process.exit(1));',
  "  const s = net.connect(Number(port), host);",
  "  s.pause();",
  '  s.once("error", (e) => {',
  '    const why = e.code === "ECONNREFUSED" ? "connection refused" : e.message;',
  '    errors.push("dial tcp4 " + host + ":" + port + ": connect: " + why);',
  "    next();",
  "  });",
  '  s.once("connect", () => process.send("socket", s, () => process.exit(0)));',
  "};",
  "next();",
].join("\n");

export class NetnsDialError extends Error {
  override name = "NetnsDialError";
}

/**
 * Connects to `port` inside a namespace, trying `hosts` in order; `enter` is the command prefix
 * that enters it (`nsenter --net=<path> --`, or with `-U` for a rootless pod network).
 */
export function dialInNetns(
  enter: string[],
  port: number,
  hosts: string[],
  timeoutMs = 10_000,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const [cmd = "nsenter", ...args] = enter;
    const child = spawn(cmd, [...args, process.execPath, "-e", HELPER, String(port), ...hosts], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    let settled = false;
    const settle = (e: Error | undefined, s?: Socket) => {
      if (settled) {
        s?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(s as Socket);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      settle(new NetnsDialError(`no connection to port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("message", (m: unknown, handle: unknown) => {
      // A received socket comes without `allowHalfOpen`: the pod's FIN would end our side too.
      if (handle instanceof Socket) handle.allowHalfOpen = true;
      if (m === "socket" && handle) settle(undefined, handle as Socket);
      else if (m && typeof m === "object" && "error" in m) {
        settle(new NetnsDialError(String((m as { error: unknown }).error)));
      }
    });
    child.once("error", (e) => settle(e));
    // After "close" every message of the helper has been read.
    child.once("close", (code) =>
      settle(new NetnsDialError(stderr.trim() || `the namespace helper exited with ${code}`)),
    );
  });
}
