/**
 * Crash-loop back-off per container, as the kubelet's flowcontrol.Backoff is used for restarts:
 * the first restart is immediate and arms `initialMs`; each later failure waits the current delay
 * (counted from when the container finished) and doubles it up to `maxMs`; an entry untouched
 * for `resetMs` (10 minutes in kube, twice the maximum) starts over.
 *
 * @module
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 10_000,
  maxMs: 300_000,
  resetMs: 600_000,
};

/** A container's back-off, as a value (see `nextBackoff`). */
export interface BackoffState {
  armed: boolean;
  /** The wait of the next failure (ms). */
  delay: number;
  /** When the entry was last touched (ms): a restart's time, counted from the finish. */
  lastUpdate: number;
}

export const FRESH_BACKOFF: BackoffState = { armed: false, delay: 0, lastUpdate: 0 };

/**
 * How long to wait before restarting a container that finished at `finishedAt`, given that the
 * restart happens after that wait (0 = restart now), and the back-off's next state.
 */
export function nextBackoff(
  policy: BackoffPolicy,
  state: BackoffState,
  finishedAt: number,
): { wait: number; state: BackoffState } {
  const armed = state.armed && !(finishedAt - state.lastUpdate > policy.resetMs);
  if (!armed)
    return { wait: 0, state: { armed: true, delay: policy.initialMs, lastUpdate: finishedAt } };
  const wait = state.delay;
  return {
    wait,
    state: {
      armed: true,
      delay: Math.min(state.delay * 2, policy.maxMs),
      lastUpdate: finishedAt + wait,
    },
  };
}

/** `nextBackoff` keeping its state (tests and callers that hold one back-off). */
export class CrashBackoff {
  private state = FRESH_BACKOFF;

  constructor(private readonly policy: BackoffPolicy) {}

  /**
   * How long to wait before restarting a container that finished at `finishedAt`, given that
   * the restart happens after that wait. 0 = restart now.
   */
  next(finishedAt: number): number {
    const { wait, state } = nextBackoff(this.policy, this.state, finishedAt);
    this.state = state;
    return wait;
  }
}

/** A duration as Go's time.Duration prints it (`300ms`, `10s`, `1m20s`, `5m0s`). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalS = ms / 1000;
  const m = Math.floor(totalS / 60);
  const s = Number((totalS - m * 60).toFixed(3));
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
