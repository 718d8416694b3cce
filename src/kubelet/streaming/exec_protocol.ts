/**
 * The remote-command wire format kubectl speaks over WebSocket (`v5.channel.k8s.io`, and
 * `v4.channel.k8s.io` without the close signal): every message (binary, or text as the Python
 * client sends stdin: kube reads both alike) starts with a channel byte —
 * 0 stdin, 1 stdout, 2 stderr, 3 error (one JSON `Status` at the end), 4 resize
 * (`{"Width":…,"Height":…}`), and in v5 255 = "close channel N" (`[255, N]`, sent when stdin ends).
 *
 * The closing `Status` is exactly what the kubelet writes: `{"metadata":{},"status":"Success"}`,
 * or a Failure with reason `NonZeroExitCode` and the code as the `ExitCode` cause, which kubectl
 * turns into its own exit code.
 *
 * Also: the query (`command` repeated, `container`, `stdin`/`stdout`/`stderr`/`tty`) and the
 * plain HTTP answer used to refuse a request before the upgrade.
 *
 * @module
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { queryFlag } from "../../api/query.ts";

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The subprotocols we serve, most preferred first. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

/** Picks the subprotocol to answer from the client's offer; undefined when none fits. */
export function pickProtocol(
  offered: Iterable<string>,
  supported: readonly string[] = EXEC_PROTOCOLS,
): string | undefined {
  const set = new Set(offered);
  return supported.find((p) => set.has(p));
}

export function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([channel]), body]);
}

export type Incoming =
  | { kind: "stdin"; data: Buffer }
  | { kind: "close"; channel: number }
  | { kind: "resize"; width: number; height: number }
  | { kind: "ignored" };

/** Decodes one message from the client (its bytes, whether it came as text or binary). */
export function parseMessage(message: Buffer, protocol: string): Incoming {
  if (message.length === 0) return { kind: "ignored" };
  const channel = message[0];
  const body = message.subarray(1);
  if (channel === CHANNEL.stdin) return { kind: "stdin", data: body };
  if (channel === CHANNEL.close && protocol.startsWith("v5.") && body.length > 0) {
    return { kind: "close", channel: body[0] ?? 0 };
  }
  if (channel === CHANNEL.resize) {
    try {
      const size = JSON.parse(body.toString("utf8")) as { Width?: unknown; Height?: unknown };
      const width = Number(size.Width);
      const height = Number(size.Height);
      if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) {
        return { kind: "resize", width, height };
      }
    } catch {
      // A malformed resize is dropped, as the kubelet does.
    }
  }
  return { kind: "ignored" };
}

/** The kubelet's closing Status for a command that ran: Success, or NonZeroExitCode. */
export function exitStatus(exitCode: number, argv: string[]): object {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${argv.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** The closing Status for a command that could not be run at all (kube: an internal error). */
export function internalErrorStatus(message: string): object {
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${message}`,
    reason: "InternalError",
    details: { causes: [{ message }] },
    code: 500,
  };
}

export interface ExecRequest {
  command: string[];
  container: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function parseExecQuery(q: URLSearchParams): ExecRequest {
  return {
    command: q.getAll("command"),
    container: q.get("container") ?? "",
    stdin: queryFlag(q, "stdin"),
    stdout: queryFlag(q, "stdout"),
    stderr: queryFlag(q, "stderr"),
    tty: queryFlag(q, "tty"),
  };
}

/** Thrown before the upgrade: answered as a plain HTTP response carrying a `Status`. */
export class StreamRequestError extends Error {
  override name = "StreamRequestError";
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Answers a refused upgrade request with a Kubernetes `Status` and closes the socket. */
export function refuse(socket: Duplex, e: StreamRequestError): void {
  const text = JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: e.message,
    reason: e.reason,
    code: e.code,
  });
  socket.end(
    `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? ""}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      "Connection: close\r\n\r\n" +
      text,
  );
}
