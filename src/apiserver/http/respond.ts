/**
 * Writing responses: JSON bodies, Status errors (with the HTTP code the Status carries), and the
 * catch-all that turns an unexpected exception into a 500 InternalError so one bad request never
 * takes the server down. Lists go through `sendJsonList`, which streams big ones
 * (`_listwriter.ts`); a body too big to encode in one string (a huge YAML list) answers a Status
 * that says so rather than a broken connection.
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { stringify as toYaml } from "yaml";
import { internalError, StatusError } from "../../api/errors.ts";
import { type StreamedJson, writeJsonList } from "./_listwriter.ts";

export type { StreamedJson } from "./_listwriter.ts";

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  options: { yaml?: boolean; contentType?: string } = {},
): void {
  if (res.headersSent) return;
  const text = encode(body, options.yaml === true);
  res.writeHead(code, {
    "Content-Type": options.contentType ?? (options.yaml ? "application/yaml" : "application/json"),
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

function encode(body: unknown, yaml: boolean): string {
  try {
    return yaml ? toYaml(body) : JSON.stringify(body);
  } catch (e) {
    // V8 cannot build a string this long ("Invalid string length"); say why, and what helps.
    if (e instanceof RangeError) {
      throw internalError(
        `the response is too large to encode as one ${yaml ? "YAML" : "JSON"} document (${e.message}); list in pages with limit and continue, or ask for JSON`,
      );
    }
    throw e;
  }
}

/** A list (or Table) as JSON, streamed in batches when big; resolves when written or abandoned. */
export function sendJsonList(
  res: ServerResponse,
  code: number,
  streamed: StreamedJson,
  options: { contentType?: string } = {},
): Promise<void> {
  return writeJsonList(res, code, streamed, options);
}

export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  return internalError(e instanceof Error ? e.message : String(e));
}

export function sendError(res: ServerResponse, e: unknown): void {
  const err = toStatusError(e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, err.toStatus());
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(code, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}
