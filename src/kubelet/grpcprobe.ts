/**
 * The kubelet's gRPC probe (`pkg/probe/grpc`): one `grpc.health.v1.Health/Check` call over
 * plaintext HTTP/2 to the pod IP and the probe's port, with the probe's `service` (default ""),
 * within the probe's timeout. Healthy only when the answer is SERVING. Failures carry kube's
 * messages: `service unhealthy (responded with "NOT_SERVING")`, `error: this server does not
 * implement the grpc health protocol (grpc.health.v1.Health): …`, `timeout: health rpc did not
 * complete within 1s`, `error: health rpc probe failed: rpc error: code = … desc = …`, and for a
 * server that cannot be reached `timeout: failed to connect service "ip:port" within 1s: context
 * deadline exceeded` (kube's client blocks until its deadline whatever the dial error is).
 *
 * The wire format is small enough to write here: a gRPC message is a 5-byte prefix (compressed
 * flag, big-endian length) and a protobuf message; the request is `string service = 1`, the
 * response `ServingStatus status = 1`; the call's outcome is the `grpc-status` trailer (or header,
 * in a trailers-only answer).
 *
 * @module
 */
import { type ClientHttp2Session, connect, constants } from "node:http2";
import type { Socket } from "node:net";
import { goDuration } from "./backoff.ts";

export interface GrpcOutcome {
  ok: boolean;
  message: string;
}

const STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];
const UNIMPLEMENTED = 12;

/** The request message: field 1 (`service`), length-delimited, left out when empty. */
export function encodeCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const body =
    name.length === 0
      ? Buffer.alloc(0)
      : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** The `status` field of a HealthCheckResponse (0, UNKNOWN, when absent). */
export function decodeServingStatus(frame: Buffer): number {
  if (frame.length < 5) return 0;
  const msg = frame.subarray(5, 5 + frame.readUInt32BE(1));
  let i = 0;
  const readVarint = () => {
    let v = 0;
    for (let shift = 0; i < msg.length; shift += 7) {
      const b = msg[i++] ?? 0;
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    return v;
  };
  let status = 0;
  while (i < msg.length) {
    const key = readVarint();
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint();
      if (key >> 3 === 1) status = v;
    } else if (wire === 2) {
      const length = readVarint(); // read first: `i += readVarint()` would add to the old i
      i += length;
    } else break; // no other wire type in this message
  }
  return status;
}

/**
 * One health check. `dial`, where given, makes the connection (rootless pod networks hand over a
 * socket connected in their namespace); it counts against the same timeout.
 */
export function grpcCheck(
  host: string,
  port: number,
  service: string,
  timeoutMs: number,
  dial?: (host: string, port: number) => Promise<Socket>,
): Promise<GrpcOutcome> {
  const addr = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const within = goDuration(timeoutMs);
  if (!dial) return check(connect(`http://${addr}`), addr, service, timeoutMs);
  const started = Date.now();
  const unreachable = {
    ok: false,
    message: `timeout: failed to connect service "${addr}" within ${within}: context deadline exceeded`,
  };
  return new Promise<Socket | undefined>((resolve) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(undefined);
    }, timeoutMs);
    dial(host, port).then(
      (socket) => {
        clearTimeout(timer);
        if (late) socket.destroy();
        else resolve(socket);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  }).then((socket) => {
    const left = timeoutMs - (Date.now() - started);
    if (!socket) return unreachable;
    if (left <= 0) {
      socket.destroy();
      return unreachable;
    }
    return check(
      connect(`http://${addr}`, { createConnection: () => socket }),
      addr,
      service,
      left,
      timeoutMs,
    );
  });
}

function check(
  session: ClientHttp2Session,
  addr: string,
  service: string,
  timeoutMs: number,
  fullTimeoutMs = timeoutMs,
): Promise<GrpcOutcome> {
  const within = goDuration(fullTimeoutMs);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: GrpcOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(o);
    };
    let connected = false;
    const timer = setTimeout(() => {
      finish({
        ok: false,
        message: connected
          ? `timeout: health rpc did not complete within ${within}`
          : `timeout: failed to connect service "${addr}" within ${within}: context deadline exceeded`,
      });
    }, timeoutMs);
    const unreachable = () =>
      finish({
        ok: false,
        message: `timeout: failed to connect service "${addr}" within ${within}: context deadline exceeded`,
      });
    session.on("error", unreachable);
    session.on("connect", () => {
      connected = true;
    });
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: "/grpc.health.v1.Health/Check",
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [constants.HTTP2_HEADER_TE]: "trailers",
      [constants.HTTP2_HEADER_USER_AGENT]: "kube-probe/1.32",
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    const takeStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) {
        grpcStatus = String(h["grpc-status"]);
        grpcMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    req.on("response", (h) => takeStatus(h as Record<string, unknown>));
    req.on("trailers", (h) => takeStatus(h as Record<string, unknown>));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", (e) => {
      if (!connected) unreachable();
      else finish({ ok: false, message: `error: health rpc probe failed: ${e.message}` });
    });
    req.on("end", () => {
      const code = Number(grpcStatus ?? Number.NaN);
      if (code === UNIMPLEMENTED) {
        return finish({
          ok: false,
          message: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}`,
        });
      }
      if (code !== 0) {
        const name = CODE_NAMES[code] ?? (grpcStatus === undefined ? "Internal" : `Code(${code})`);
        const desc =
          grpcStatus === undefined
            ? "server closed the stream without sending trailers"
            : grpcMessage;
        return finish({
          ok: false,
          message: `error: health rpc probe failed: rpc error: code = ${name} desc = ${desc}`,
        });
      }
      const status = decodeServingStatus(Buffer.concat(chunks));
      if (status === 1) return finish({ ok: true, message: "service healthy" });
      finish({
        ok: false,
        message: `service unhealthy (responded with "${STATUS_NAMES[status] ?? String(status)}")`,
      });
    });
    req.end(encodeCheckRequest(service));
  });
}
