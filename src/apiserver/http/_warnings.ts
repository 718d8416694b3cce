/**
 * Warnings to the client as kube-apiserver sends them: one `Warning: 299 - "<text>"` header per
 * distinct message (quotes and backslashes escaped), which kubectl prints as `Warning: <text>`
 * and client-go hands to its warning handler. At most {@link MAX_WARNINGS} per response.
 *
 * @module
 */
import type { ServerResponse } from "node:http";

export const MAX_WARNINGS = 100;

export function warningHeader(text: string): string {
  return `299 - "${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A sink for a request's warnings that adds each distinct one to the response's headers. */
export function warningsTo(res: ServerResponse): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message) || seen.size >= MAX_WARNINGS || res.headersSent) return;
    seen.add(message);
    res.appendHeader("Warning", warningHeader(message));
  };
}
