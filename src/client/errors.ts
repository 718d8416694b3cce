/**
 * Errors of the client machinery. API failures are `StatusError`s from `api/errors.ts`; this file
 * adds what only controllers need.
 *
 * @module
 */

/**
 * Thrown by a reconcile function to say "retrying cannot help" (a spec that can never be
 * satisfied): the runner forgets the key instead of backing off and retrying it.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export function isTerminalError(e: unknown): e is TerminalError {
  return e instanceof TerminalError;
}
