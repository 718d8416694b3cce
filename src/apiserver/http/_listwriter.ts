/**
 * Streams a JSON body whose bulk is one array (a `XxxList`'s `items`, a Table's `rows`) without
 * ever holding the whole text: a list of 150,000 pods is ~450 MB of JSON, close to V8's longest
 * string, and building it in one piece costs gigabytes of RSS and stalls the event loop for
 * seconds.
 *
 * Contract:
 * - The bytes written are exactly `JSON.stringify(body)`, whatever the key order of `body` and
 *   wherever the array key sits in it (the envelope is encoded key by key, items one by one).
 * - A body that fits in the first batch goes out as one buffer with `Content-Length` (the fast
 *   path every small list takes); a bigger one uses chunked transfer encoding: the head, then
 *   batches of about `batchBytes`, then the tail.
 * - Backpressure: when `write` returns false the writer waits for `drain` before encoding more, so
 *   a slow reader holds at most about one batch in this process. The writer also yields to the
 *   event loop after every batch, so other requests are served while a huge list streams.
 * - A client that goes away stops the encoding (the promise resolves; nothing is thrown). An
 *   item that fails to encode before the headers are sent rejects (the caller answers a Status);
 *   after they are sent the response is destroyed, since HTTP has no way to signal it in-band.
 * - `items` must not change while streaming: the registry hands out snapshots of immutable
 *   stored objects, so encoding later from the same array is consistent.
 *
 * @module
 */
import type { ServerResponse } from "node:http";

/** What to stream: `body[arrayKey]` is the array, optionally mapped item by item. */
export interface StreamedJson {
  body: Record<string, unknown>;
  arrayKey: string;
  /** Applied to each item before encoding (e.g. object → PartialObjectMetadata). */
  map?: (item: unknown) => unknown;
}

export interface ListWriteOptions {
  /** Characters per `write` (≈ bytes for ASCII JSON). */
  batchBytes?: number;
  contentType?: string;
}

export const DEFAULT_BATCH_BYTES = 512 * 1024;

/** `JSON.stringify(body)` split around the elements of `body[arrayKey]`. */
export function splitEnvelope(body: Record<string, unknown>, arrayKey: string) {
  if (!Array.isArray(body[arrayKey])) throw new TypeError(`${arrayKey} is not an array`);
  let head = "{";
  let tail = "";
  let inTail = false;
  let sep = "";
  for (const key of Object.keys(body)) {
    if (key === arrayKey) {
      head += `${sep}${JSON.stringify(key)}:[`;
      inTail = true;
      sep = ",";
      continue;
    }
    const value = JSON.stringify(body[key]);
    if (value === undefined) continue; // as JSON.stringify drops undefined and function members
    const member = `${sep}${JSON.stringify(key)}:${value}`;
    sep = ",";
    if (inTail) tail += member;
    else head += member;
  }
  return { head, tail: `]${tail}}` };
}

/** Encodes items from `start` until about `budget` characters; returns the text and next index. */
function encodeBatch(
  items: readonly unknown[],
  start: number,
  budget: number,
  map: ((item: unknown) => unknown) | undefined,
): { text: string; next: number } {
  const parts: string[] = [];
  let size = 0;
  let i = start;
  while (i < items.length && size < budget) {
    const item = map ? map(items[i]) : items[i];
    // Inside an array JSON.stringify writes undefined (and functions) as null.
    const text = JSON.stringify(item) ?? "null";
    parts.push(text);
    size += text.length + 1;
    i++;
  }
  const text = parts.join(",");
  return { text: start > 0 && parts.length > 0 ? `,${text}` : text, next: i };
}

/** Resolves true on `drain`, false if the response closes first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Writes `streamed` as the JSON response with status `code`; see the module contract. */
export async function writeJsonList(
  res: ServerResponse,
  code: number,
  streamed: StreamedJson,
  options: ListWriteOptions = {},
): Promise<void> {
  if (res.headersSent) return;
  const batch = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  const { body, arrayKey, map } = streamed;
  const items = body[arrayKey] as readonly unknown[];
  const { head, tail } = splitEnvelope(body, arrayKey);
  const headers = {
    "Content-Type": options.contentType ?? "application/json",
    "Cache-Control": "no-cache, private",
  };
  const first = encodeBatch(items, 0, batch - head.length, map);
  if (first.next === items.length) {
    const text = head + first.text + tail;
    res.writeHead(code, { ...headers, "Content-Length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  res.writeHead(code, headers);
  let chunk = head + first.text;
  let next = first.next;
  try {
    for (;;) {
      if (res.destroyed) return;
      if (!res.write(chunk) && !(await drained(res))) return;
      // Always give the loop a turn: on loopback `drain` can follow a write within the same
      // turn (the kernel took it all), which would starve every other request.
      await nextTurn();
      if (res.destroyed) return;
      if (next === items.length) break;
      const b = encodeBatch(items, next, batch, map);
      chunk = b.text;
      next = b.next;
    }
  } catch {
    // Headers are out: the only honest signal left is a broken response.
    res.destroy();
    return;
  }
  res.end(tail);
}
