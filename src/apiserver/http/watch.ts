/**
 * Streams a watch over HTTP: 200 with chunked `application/json`, headers flushed at once, one
 * `{"type":…,"object":…}` per line. With a Table Accept each event's object is a one-row Table
 * (kubectl `get -w` prints nothing for a raw object).
 *
 * Back-pressure, never a byte cap: when the socket's buffer is full the registry watch is paused
 * until it drains, so an initial state or replay of any size reaches a slow client whole, at its
 * pace, and the server holds at most one socket buffer per watch. Live events meanwhile wait in
 * the store's bounded per-watcher queue; if that overflows the watch ends cleanly after the last
 * whole event (see `registry/watch.ts`), and the client resumes from the last resourceVersion it
 * got — never a cut mid-event that a client would re-request forever.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject, WatchEvent } from "../../api/types.ts";
import type { ResourceRef, WatchOptions } from "../../api/verbs.ts";
import type { Registry } from "../registry/index.ts";
import { renderObject, type ViewOptions } from "./views.ts";

// kube-apiserver picks a random timeout in [minRequestTimeout, 2 × minRequestTimeout) with 1800 s.
const MIN_REQUEST_TIMEOUT_S = 1800;

export interface WatchRequest {
  registry: Registry;
  ref: ResourceRef;
  namespace: string;
  options: WatchOptions;
  view: ViewOptions;
}

export function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
  const options = { ...w.options };
  if (!options.timeoutSeconds) {
    options.timeoutSeconds = Math.floor(MIN_REQUEST_TIMEOUT_S * (1 + Math.random()));
  }
  const render = (e: WatchEvent): string => {
    if (e.type === "ERROR" || e.type === "BOOKMARK") return `${JSON.stringify(e)}\n`;
    const object = renderObject(e.object as KubeObject, { ...w.view, now: Date.now() });
    return `${JSON.stringify({ type: e.type, object })}\n`;
  };

  // Returning false pauses the registry watch until the socket drains.
  const handle = w.registry.watch(w.ref, w.namespace, options, (e) => {
    if (res.writableEnded || res.destroyed) return false;
    return res.write(render(e));
  });
  // Selector and option errors throw above, before any header; events arrive from a later
  // microtask.
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);

  res.on("drain", () => handle.resume());
  // A gone client is seen on the response (the request's close fires when its body ends).
  res.on("close", () => handle.stop());
  res.on("error", () => handle.stop());
  handle.done.then(
    () => {
      if (!res.writableEnded && !res.destroyed) res.end();
    },
    () => res.destroy(),
  );
}
