/**
 * Waiting in tests, one way for every test (unit tests under `src/`, end-to-end tests in `test/`):
 * `waitFor(check, { what })` calls `check` until it returns something other than `undefined` or
 * `false`, and resolves with that value.
 *
 * - One default timeout (`WAIT_TIMEOUT_MS`) and one default pause between tries
 *   (`WAIT_INTERVAL_MS`); a test that needs longer says so with `timeoutMs`.
 * - On time-out it rejects with an `Error` naming what was awaited, how long, how many tries, and
 *   the last value or error `check` gave.
 * - An error thrown by `check` fails the wait at once (a surprise is a failure), unless the test
 *   expects errors until the condition holds (a server still starting, an assertion inside the
 *   check): `retryErrors: true` treats them as "not yet" and reports the last one on time-out.
 *
 * It polls on real time with `setTimeout`; tests that drive an injected clock still advance it
 * themselves. Test-only: no runtime code imports this folder (`test/architecture.test.ts`).
 *
 * @module
 */
import { inspect } from "node:util";

/** How long a wait lasts unless the test says it needs more. */
export const WAIT_TIMEOUT_MS = 20_000;

/** The pause between two tries unless the test says otherwise. */
export const WAIT_INTERVAL_MS = 20;

export interface WaitOptions {
  /** What is awaited, as the failure message should say it: "pod web-0 to be Ready". */
  what: string;
  /** Give up after this long; default `WAIT_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** The pause between two tries; default `WAIT_INTERVAL_MS`. */
  intervalMs?: number;
  /** Treat an error thrown by `check` as "not yet" instead of failing at once. */
  retryErrors?: boolean;
}

/** What a check returns while the condition does not hold yet. */
export type NotYet = undefined | false;

const SHOWN = 1000;

function shown(value: unknown): string {
  const text =
    value instanceof Error
      ? `${value.name}: ${value.message}`
      : inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY, maxArrayLength: 20 });
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text;
}

/**
 * Calls `check` until it returns a value other than `undefined`/`false` and resolves with it;
 * rejects after `timeoutMs` with what was awaited and the last value or error seen.
 */
export async function waitFor<T>(
  check: () => T | NotYet | Promise<T | NotYet>,
  options: WaitOptions,
): Promise<T> {
  const { what, timeoutMs = WAIT_TIMEOUT_MS, intervalMs = WAIT_INTERVAL_MS } = options;
  const started = Date.now();
  let tries = 0;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  for (;;) {
    tries++;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = { value };
    } catch (error) {
      if (!options.retryErrors) throw error;
      last = { error };
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const seen =
        "error" in last ? `last error: ${shown(last.error)}` : `last value: ${shown(last.value)}`;
      throw new Error(
        `timed out after ${elapsed} ms (${tries} tries) waiting for ${what}; ${seen}`,
        "error" in last ? { cause: last.error } : undefined,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsed)));
  }
}
