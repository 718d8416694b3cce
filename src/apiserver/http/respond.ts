/**
 * Writing responses: JSON bodies, Status errors (with the HTTP code the Status carries), and the
 * catch-all that turns an unexpected exception into a 500 InternalError so one bad request never
 * takes the server down.
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { stringify as toYaml } from "yaml";
import { internalError, StatusError } from "../../api/errors.ts";

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  options: { yaml?: boolean; contentType?: string } = {},
): void {
  if (res.headersSent) return;
  const text = options.yaml ? toYaml(body) : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": options.contentType ?? (options.yaml ? "application/yaml" : "application/json"),
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
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
