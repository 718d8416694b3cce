/**
 * The `pods/log` subresource served from the node agent's CRI log files, as the kubelet serves
 * `kubectl logs`: `container` (default: the only container, or the
 * `kubectl.kubernetes.io/default-container` annotation), `previous`, `follow`, `tailLines`,
 * `timestamps`, `sinceSeconds`/`sinceTime`, `limitBytes`. Plain text, one record per line as
 * written by the program (partial `P` records are joined).
 *
 * `follow` polls the current file every `pollMs` and ends when the client goes away, the pod's
 * directory disappears (pod deleted), a newer restart's file appears, or the pod's status no
 * longer shows the container running: a follow ends with the container, as on a real node.
 *
 * Errors answer a Kubernetes Status with kube's messages (400 for a bad container choice or a
 * container that never ran, 404 for an unknown pod).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../api/errors.ts";
import { queryFlag } from "../api/query.ts";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";

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

interface Record_ {
  time: string;
  text: string;
}

/** Parses CRI log text into records, joining `P` partial records with what follows. */
export function parseCri(text: string): Record_[] {
  const out: Record_[] = [];
  let partial: Record_ | undefined;
  for (const line of text.split("\n")) {
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (!m) continue;
    const [, time = "", , tag, body = ""] = m;
    if (partial) partial.text += body;
    else partial = { time, text: body };
    if (tag === "F") {
      out.push(partial);
      partial = undefined;
    }
  }
  if (partial) out.push(partial);
  return out;
}

const restarts = (dir: string): number[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number)
        .sort((a, b) => a - b)
    : [];

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
    const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
      (c) => c.name,
    );
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
    const runs = restarts(dir);
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
    const timestamps = queryFlag(query, "timestamps");
    const tail = query.has("tailLines") ? Number(query.get("tailLines")) : undefined;
    let limit = query.has("limitBytes")
      ? Number(query.get("limitBytes"))
      : Number.POSITIVE_INFINITY;
    const sinceSeconds = query.get("sinceSeconds");
    const sinceTime = query.get("sinceTime");
    const since = sinceSeconds
      ? Date.now() - Number(sinceSeconds) * 1000
      : sinceTime
        ? Date.parse(sinceTime)
        : undefined;

    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    const write = (records: Record_[]): boolean => {
      for (const r of records) {
        if (since !== undefined && Date.parse(r.time) < since) continue;
        let line = `${timestamps ? `${r.time} ` : ""}${r.text}\n`;
        if (Buffer.byteLength(line) > limit) line = Buffer.from(line).subarray(0, limit).toString();
        limit -= Buffer.byteLength(line);
        res.write(line);
        if (limit <= 0) return false;
      }
      return true;
    };
    const text = readFileSync(file, "utf8");
    let offset = Buffer.byteLength(text);
    // Keep an unfinished last line for the next read.
    const cut = text.lastIndexOf("\n") + 1;
    let pending = text.slice(cut);
    let records = parseCri(text.slice(0, cut));
    if (tail !== undefined && tail >= 0) records = tail === 0 ? [] : records.slice(-tail);
    if (!write(records) || !queryFlag(query, "follow") || previous) {
      res.end();
      return;
    }
    let closed = false;
    req.once("close", () => {
      closed = true;
    });
    res.once("close", () => {
      closed = true;
    });
    let idle = 0;
    const running = async () => {
      try {
        const p = (await options.client.get(REFS.pods, namespace, name)) as Pod;
        if (p.metadata?.uid !== pod.metadata?.uid) return false;
        const all = [
          ...(p.status?.initContainerStatuses ?? []),
          ...(p.status?.containerStatuses ?? []),
        ];
        return Boolean(all.find((x) => x.name === container)?.state?.running);
      } catch {
        return false;
      }
    };
    const fh = await open(file, "r");
    try {
      while (!closed) {
        await new Promise((r) => setTimeout(r, pollMs));
        const size = existsSync(file) ? statSync(file).size : -1;
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          await fh.read(buf, 0, buf.length, offset);
          offset = size;
          const chunk = pending + buf.toString("utf8");
          const c = chunk.lastIndexOf("\n") + 1;
          pending = chunk.slice(c);
          if (!write(parseCri(chunk.slice(0, c)))) break;
          continue;
        }
        if (!existsSync(podDir) || (restarts(dir).at(-1) ?? pick) > pick) break;
        if (++idle % Math.max(1, Math.round(1000 / pollMs)) === 0 && !(await running())) {
          // One more read so nothing written just before the exit is lost.
          if (statSync(file).size === offset) break;
        }
      }
    } finally {
      await fh.close();
      res.end();
    }
  };
}
