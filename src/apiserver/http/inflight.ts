/**
 * kube-apiserver's max-in-flight filter: at most `readOnly` GET/HEAD requests and at most
 * `mutating` other requests in progress at once (defaults 400 and 200, kube's
 * `--max-requests-inflight` and `--max-mutating-requests-inflight`); one more is answered at
 * once with 429, `Retry-After: 1` and kube's plain-text body, which client-go and kubectl retry.
 *
 * Not counted, as in kube: long-running requests (watches, and the `log`, `exec`, `attach`,
 * `portforward` and `proxy` subresources). Not counted either: the health endpoints, so a
 * flood never makes `/readyz` fail. (kube also exempts `system:masters`; every client of
 * loopkube is one, so here the limit applies to all.) The node agent and controllers use the
 * in-process client and never pass through here.
 *
 * A request stops counting when its response is finished or its connection closes.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface InFlightLimits {
  readOnly: number;
  mutating: number;
}

export const DEFAULT_IN_FLIGHT: InFlightLimits = { readOnly: 400, mutating: 200 };

const EXEMPT_PATH = /^\/(healthz|livez|readyz)(\/|$)/;
const LONG_RUNNING_SUBRESOURCE = /\/(log|exec|attach|portforward|proxy)(\/|$)/;

function isLongRunning(path: string, query: string): boolean {
  if (/(^|&)watch=(?!0(&|$)|false(&|$))/i.test(query)) return true;
  if (path.includes("/watch/")) return true;
  return LONG_RUNNING_SUBRESOURCE.test(path);
}

export interface InFlightGate {
  /** Counts the request in, or answers 429 and returns false. */
  admit(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests counted now. */
  inFlight(): InFlightLimits;
}

/**
 * kube's answer when it cannot take a request now (max-in-flight, or no room in a priority
 * level's queues): 429, `Retry-After: 1` and a plain-text body.
 */
export function tooManyRequests(res: ServerResponse): void {
  const body = "Too many requests, please try again later.\n";
  res.writeHead(429, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Retry-After": "1",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function createInFlightGate(limits: InFlightLimits = DEFAULT_IN_FLIGHT): InFlightGate {
  const current: InFlightLimits = { readOnly: 0, mutating: 0 };
  return {
    admit(req, res) {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      const query = q < 0 ? "" : url.slice(q + 1);
      if (EXEMPT_PATH.test(path) || isLongRunning(path, query)) return true;
      const method = req.method ?? "GET";
      const kind: keyof InFlightLimits =
        method === "GET" || method === "HEAD" ? "readOnly" : "mutating";
      if (current[kind] >= limits[kind]) {
        req.resume();
        tooManyRequests(res);
        return false;
      }
      current[kind]++;
      res.once("close", () => {
        current[kind]--;
      });
      return true;
    },
    inFlight: () => ({ ...current }),
  };
}
