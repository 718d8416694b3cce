/**
 * `pods/attach` over WebSocket (`v5`/`v4.channel.k8s.io`): the container's output from the moment
 * of attaching, read from its CRI log file (stdout records on channel 1, stderr on 2), until the
 * container's process ends or the client goes away; then the kubelet's closing Success `Status`.
 *
 * stdin (`kubectl attach -i`): a container whose spec says `stdin: true` keeps a pipe to its stdin
 * open, and the attach forwards channel 0 into it; with `stdinOnce` the first attach that ends
 * (or closes its stdin) closes the container's stdin, as the container runtime does. A container
 * has a tty when its spec asks for `tty` and `stdin` (util-linux `script` gives its program one,
 * output merged on stdout); an attach asking for a tty of any other container is refused before
 * the upgrade, and so is stdin for a container started without it. A resize (channel 4) sets the
 * size of the container's terminal (tty.ts), which signals SIGWINCH to its program.
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import type { Duplex, Writable } from "node:stream";
import type { ApiVerbs } from "../../api/verbs.ts";
import { LogCursor, parseCriLine } from "../logread.ts";
import { withTty } from "../runtimes/index.ts";
import {
  CHANNEL,
  EXEC_PROTOCOLS,
  exitStatus,
  frame,
  parseExecQuery,
  parseMessage,
  pickProtocol,
  refuse,
  StreamRequestError,
} from "./exec_protocol.ts";
import { chooseContainer, getPod, type LocateContainer } from "./exec_target.ts";
import { setTerminalSize, terminalIdentity, terminalOf } from "./tty.ts";
import { acceptWebSocket, offeredProtocols } from "./websocket.ts";

export interface AttachHandlerOptions {
  client: ApiVerbs;
  locate: LocateContainer;
  /** The agent's data dir (logs live under `pods/<ns>_<name>_<uid>/<container>/<n>.log`). */
  dataDir: string;
  /** A running container's open stdin (spec `stdin: true`), and whether it is `stdinOnce`. */
  stdinOf?: (
    namespace: string,
    name: string,
    container: string,
  ) => { stream: Writable; once: boolean } | undefined;
  pollMs?: number;
}

type Target = { namespace: string; name: string; query: URLSearchParams };

/** The newest log file of a container, by restart number. */
async function currentLog(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const n = names
    .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .at(-1);
  return n === undefined ? undefined : join(dir, `${n}.log`);
}

export function createAttachHandler(
  options: AttachHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) => Promise<void> {
  const pollMs = options.pollMs ?? 100;
  return async (req, socket, head, { namespace, name, query }) => {
    const request = parseExecQuery(query);
    let protocol: string;
    let cursor: LogCursor;
    let pid: number;
    let logPath: string;
    let dir: string;
    let container: string;
    let input: { stream: Writable; once: boolean } | undefined;
    try {
      const pod = await getPod(options.client, namespace, name);
      container = chooseContainer(pod, request.container);
      const spec = [
        ...(pod.spec?.containers ?? []),
        ...(pod.spec?.initContainers ?? []),
        ...(pod.spec?.ephemeralContainers ?? []),
      ].find((c) => c.name === container);
      if (request.tty && !(spec && withTty(spec))) {
        throw new StreamRequestError(
          400,
          "BadRequest",
          `container ${container} runs without a tty: attach without -t`,
        );
      }
      if (request.stdin) {
        input = options.stdinOf?.(namespace, name, container);
        if (!input) {
          throw new StreamRequestError(
            400,
            "BadRequest",
            `container ${container} was not started with stdin (spec.containers[].stdin): attach can only show its output`,
          );
        }
      }
      const located = options.locate(namespace, name, container);
      dir = join(
        options.dataDir,
        "pods",
        `${namespace}_${name}_${pod.metadata?.uid ?? ""}`,
        container,
      );
      const log = await currentLog(dir);
      if (!located || !log) {
        throw new StreamRequestError(500, "InternalError", `container not found ("${container}")`);
      }
      const picked = pickProtocol(offeredProtocols(req), EXEC_PROTOCOLS);
      if (!picked) {
        throw new StreamRequestError(
          400,
          "BadRequest",
          `unable to upgrade: attach is served over WebSocket (subprotocol ${EXEC_PROTOCOLS.join(" or ")})`,
        );
      }
      protocol = picked;
      pid = located.pid;
      logPath = log;
      // Output from here on: the mark is taken before any stdin is forwarded, so an answer to the
      // first input is not skipped.
      cursor = await LogCursor.open(log, "end").catch((e: Error) => {
        throw new StreamRequestError(500, "InternalError", `failed to open log file: ${e.message}`);
      });
    } catch (e) {
      if (e instanceof StreamRequestError) return refuse(socket, e);
      throw e;
    }
    const ws = await acceptWebSocket(req, socket, head, protocol).catch(async (e) => {
      await cursor.close();
      throw e;
    });
    let open_ = true;
    ws.on("close", () => {
      open_ = false;
    });
    ws.on("error", () => {});
    // The size asked last, and the terminal it was set on: a container that was still starting
    // when the attach came (the oci runtime's terminal is crun's until the container's own
    // exists) gets it again on each new terminal found under it.
    let size: { width: number; height: number } | undefined;
    let sized: string | undefined;
    const applySize = () => {
      const now = options.locate(namespace, name, container)?.pid ?? pid;
      const tty = size && terminalOf(now);
      const id = tty && terminalIdentity(tty);
      if (!size || !tty || !id || id === sized) return;
      sized = id;
      setTerminalSize(tty, size.width, size.height);
    };
    ws.on("message", (data: Buffer) => {
      // Text and binary messages alike, as kube reads them (the Python client sends text).
      const m = parseMessage(data, protocol);
      if (m.kind === "stdin") input?.stream.write(m.data);
      else if (m.kind === "close" && m.channel === CHANNEL.stdin && input?.once) input.stream.end();
      else if (m.kind === "resize" && request.tty) {
        size = { width: m.width, height: m.height };
        sized = undefined;
        applySize();
      }
    });
    // stdinOnce: this attach was the one; the program reads EOF now.
    if (input?.once) {
      const { stream } = input;
      ws.on("close", () => stream.end());
    }
    const pump = async (flush = false) => {
      for (let lines = await cursor.next(flush); lines.length; lines = await cursor.next(flush)) {
        for (const line of lines) {
          const r = parseCriLine(line);
          if (!r) continue;
          const channel = r.stream === "stdout" ? CHANNEL.stdout : CHANNEL.stderr;
          if (channel === CHANNEL.stdout ? !request.stdout : !request.stderr) continue;
          if (open_) ws.send(frame(channel, r.partial ? r.text : `${r.text}\n`));
        }
      }
    };
    // The same run of the container: still located, and its log still the newest (a restart
    // writes the next one). Not its pid: the oci runtime's changes from its start's to the
    // container's own once the container exists.
    const alive = async () => {
      const now = options.locate(namespace, name, container);
      if (!now) return false;
      applySize();
      return (await currentLog(dir)) === logPath;
    };
    try {
      while (open_ && (await alive())) {
        await pump();
        await new Promise((r) => setTimeout(r, pollMs));
      }
      await pump(true);
    } catch {
      // The log went away under us (the pod was deleted): the attach ends here.
    } finally {
      await cursor.close();
    }
    if (open_) {
      ws.send(frame(CHANNEL.error, JSON.stringify(exitStatus(0, []))));
      ws.close(1000);
    }
  };
}
