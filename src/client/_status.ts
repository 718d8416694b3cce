/**
 * Turns an HTTP error response into a `StatusError`. A body that is a Kubernetes `Status` is
 * taken as is; anything else (a proxy's HTML page, an empty body) gets a Status synthesized from
 * the HTTP code, worded as client-go words its generic server errors.
 *
 * @module
 */
import { type Status, StatusError, type StatusReason } from "../api/errors.ts";

const BY_CODE: Record<number, [StatusReason, string]> = {
  400: ["BadRequest", "the server rejected our request for an unknown reason"],
  401: ["Unauthorized", "the server has asked for the client to provide credentials"],
  403: ["Forbidden", "the server does not allow access to the requested resource"],
  404: ["NotFound", "the server could not find the requested resource"],
  405: ["MethodNotAllowed", "the server does not allow this method on the requested resource"],
  406: [
    "NotAcceptable",
    "the server was unable to respond with a content type that the client supports",
  ],
  409: ["Conflict", "the server reported a conflict"],
  410: ["Gone", "the server has asked for the client to provide the resource again"],
  413: ["RequestEntityTooLarge", "the server has rejected the request because it is too large"],
  415: ["UnsupportedMediaType", "the server was unable to accept the content type of the request"],
  422: ["Invalid", "the server rejected our request due to an error in our request"],
  429: [
    "TooManyRequests",
    "the server has received too many requests and has asked us to try again later",
  ],
  503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
  504: [
    "Timeout",
    "the server was unable to return a response in the time allotted, but may still be processing the request",
  ],
};

export function isStatusBody(body: unknown): body is Partial<Status> {
  return (
    body !== null &&
    typeof body === "object" &&
    (body as { kind?: unknown }).kind === "Status" &&
    typeof (body as { code?: unknown }).code === "number"
  );
}

/** The error for a non-2xx response; `what` names the request, e.g. `get configmaps x`. */
export function errorFromResponse(code: number, text: string, what: string): StatusError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isStatusBody(body)) return StatusError.fromStatus(body, code);
  const known = BY_CODE[code];
  if (known) return new StatusError(code, known[0], `${known[1]} (${what})`);
  const snippet = text.trim().slice(0, 200);
  return new StatusError(
    code,
    "InternalError",
    `an error on the server (${JSON.stringify(snippet)}) has prevented the request from succeeding (${what})`,
  );
}
