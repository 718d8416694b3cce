/**
 * The `pods/log` subresource served from the node agent's CRI log files, as the kubelet serves
 * `kubectl logs`: `container` (default: the only container, or the
 * `kubectl.kubernetes.io/default-container` annotation), `previous`, `follow`, `tailLines`,
 * `timestamps`, `sinceSeconds`/`sinceTime`, `limitBytes`. Plain text, each record as written by
 * the program (a `P` record adds no newline, so a line cut into records comes out whole).
 *
 * Like the kubelet, it reads the container's current log file only, never the rotated ones
 * (logfile.ts; kube's ReadLogs: "It will not retrieve logs in rotated log file"), and `tailLines`
 * counts records. Reading is asynchronous and a block at a time (logread.ts): `tailLines` starts
 * from the end of the file, `limitBytes` stops early, and the response is written as the client
 * takes it, so a request for the last line of a huge log costs one block.
 *
 * `follow` polls the file every `pollMs`, goes on into the new file when the log is rotated, and
 * ends when the client goes away, the pod's directory disappears (pod deleted), a newer restart's
 * file appears, or the pod's status no longer shows the container running: a follow ends with
 * the container, as on a real node.
 *
 * Errors answer a Kubernetes Status with kube's messages (400 for a bad container choice or a
 * container that never ran, 404 for an unknown pod).
 *
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../api/errors.ts";
import { queryFlag } from "../api/query.ts";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { type CriRecord, LogCursor, parseCriLine } from "./logread.ts";

export interface LogHandlerOptions {
  client: ApiVerbs;
  dataDir: string;
  pollMs?: number;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

function fail(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }),
  );
}

/** Restart numbers that have a current log file (`<n>.log`), in order. */
async function restarts(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** How the records of one request are chosen and shaped (kube's LogOptions). */
interface Shape {
  timestamps: boolean;
  since: number | undefined;
  /** Bytes still allowed (kube's limitBytes). */
  remain: number;
  /** Records still allowed (tailLines without follow), else infinite. */
  records: number;
}

/** The text of one record under `shape`, and whether the response is done after it. */
function render(r: CriRecord, shape: Shape): { text: string; done: boolean } {
  shape.records--;
  if (shape.since !== undefined && Date.parse(r.time) < shape.since) {
    return { text: "", done: shape.records <= 0 };
  }
  let text = `${shape.timestamps ? `${r.time} ` : ""}${r.text}${r.partial ? "" : "\n"}`;
  let bytes = Buffer.byteLength(text);
  if (bytes > shape.remain) {
    text = Buffer.from(text).subarray(0, shape.remain).toString();
    bytes = shape.remain;
  }
  shape.remain -= bytes;
  return { text, done: shape.remain <= 0 || shape.records <= 0 };
}

export function createLogHandler(
  options: LogHandlerOptions,
): (req: IncomingMessage, res: ServerResponse, target: Target) => Promise<void> {
  const pollMs = options.pollMs ?? 250;
  return async (req, res, { namespace, name, query }) => {
    let pod: Pod;
    try {
      pod = (await options.client.get(REFS.pods, namespace, name)) as Pod;
    } catch (e) {
      if (isStatusError(e, "NotFound"))
        return fail(res, 404, "NotFound", `pods "${name}" not found`);
      throw e;
    }
    const all = [
      ...(pod.spec?.initContainers ?? []),
      ...(pod.spec?.containers ?? []),
      ...(pod.spec?.ephemeralContainers ?? []),
    ].map((c) => c.name);
    const main = (pod.spec?.containers ?? []).map((c) => c.name);
    let container = query.get("container") ?? "";
    if (!container) {
      const preferred = pod.metadata?.annotations?.["kubectl.kubernetes.io/default-container"];
      if (preferred && all.includes(preferred)) container = preferred;
      else if (main.length === 1) container = main[0] ?? "";
      else {
        return fail(
          res,
          400,
          "BadRequest",
          `a container name must be specified for pod ${name}, choose one of: [${main.join(" ")}]`,
        );
      }
    }
    if (!all.includes(container)) {
      return fail(res, 400, "BadRequest", `container ${container} is not valid for pod ${name}`);
    }
    const podDir = join(options.dataDir, "pods", `${namespace}_${name}_${pod.metadata?.uid ?? ""}`);
    const dir = join(podDir, container);
    const runs = await restarts(dir);
    const previous = queryFlag(query, "previous");
    const pick = previous ? runs.at(-2) : runs.at(-1);
    if (pick === undefined) {
      if (previous) {
        return fail(
          res,
          400,
          "BadRequest",
          `previous terminated container "${container}" in pod "${name}" not found`,
        );
      }
      const st = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.ephemeralContainerStatuses ?? []),
      ].find((s) => s.name === container);
      const reason = st?.state?.waiting?.reason ?? "ContainerCreating";
      return fail(
        res,
        400,
        "BadRequest",
        `container "${container}" in pod "${name}" is waiting to start: ${reason}`,
      );
    }
    const file = join(dir, `${pick}.log`);
    const follow = queryFlag(query, "follow") && !previous;
    const tail = query.has("tailLines") ? Number(query.get("tailLines")) : -1;
    const sinceSeconds = query.get("sinceSeconds");
    const sinceTime = query.get("sinceTime");
    const shape: Shape = {
      timestamps: queryFlag(query, "timestamps"),
      since: sinceSeconds
        ? Date.now() - Number(sinceSeconds) * 1000
        : sinceTime
          ? Date.parse(sinceTime)
          : undefined,
      remain: query.has("limitBytes") ? Number(query.get("limitBytes")) : Number.POSITIVE_INFINITY,
      records: tail >= 0 && !follow ? tail : Number.POSITIVE_INFINITY,
    };

    let cursor: LogCursor;
    try {
      cursor = await openCursor(file, tail);
    } catch (e) {
      return fail(
        res,
        500,
        "InternalError",
        `failed to open log file "${file}": ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    let closed = false;
    const onClose = () => {
      closed = true;
    };
    req.once("close", onClose);
    res.once("close", onClose);
    /** Writes `text`, waiting while the client is slower than the file. */
    const send = async (text: string) => {
      if (!text || closed || res.write(text)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.once("drain", done);
        res.once("close", done);
      });
    };
    /** Sends the lines; true when the response is complete (limit reached). */
    const emit = async (lines: string[]) => {
      let out = "";
      for (const line of lines) {
        const r = parseCriLine(line);
        if (!r) continue;
        const { text, done } = render(r, shape);
        out += text;
        if (done) {
          await send(out);
          return true;
        }
      }
      await send(out);
      return false;
    };
    const running = async () => {
      try {
        const p = (await options.client.get(REFS.pods, namespace, name)) as Pod;
        if (p.metadata?.uid !== pod.metadata?.uid) return false;
        const all = [
          ...(p.status?.initContainerStatuses ?? []),
          ...(p.status?.containerStatuses ?? []),
          ...(p.status?.ephemeralContainerStatuses ?? []),
        ];
        return Boolean(all.find((x) => x.name === container)?.state?.running);
      } catch {
        return false;
      }
    };

    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    try {
      if (shape.records <= 0 || shape.remain <= 0) return;
      // What is there now.
      for (
        let lines = await cursor.next(!follow);
        lines.length;
        lines = await cursor.next(!follow)
      ) {
        if (closed || (await emit(lines))) return;
      }
      if (!follow) return;
      let idle = 0;
      while (!closed) {
        await new Promise((r) => setTimeout(r, pollMs));
        const lines = await cursor.next();
        if (lines.length) {
          idle = 0;
          if (await emit(lines)) return;
          continue;
        }
        if (!(await exists(podDir)) || ((await restarts(dir)).at(-1) ?? pick) > pick) break;
        if (++idle % Math.max(1, Math.round(1000 / pollMs)) === 0 && !(await running())) {
          // One more read, so nothing written just before the exit is lost.
          for (let more = await cursor.next(true); more.length; more = await cursor.next(true))
            if (await emit(more)) return;
          break;
        }
      }
    } catch {
      // A read that fails midway (the pod's files removed under us) ends the response: what was
      // sent stands, as a stream cut short.
    } finally {
      req.off("close", onClose);
      res.off("close", onClose);
      await cursor.close();
      res.end();
    }
  };
}

/** Opens the log at its tail; a rotation between the listing and the open is waited out. */
async function openCursor(file: string, tail: number): Promise<LogCursor> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await LogCursor.open(file, { tail });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
