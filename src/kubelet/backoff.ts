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

export class CrashBackoff {
  private delay = 0;
  private lastUpdate = 0;
  private armed = false;

  constructor(private readonly policy: BackoffPolicy) {}

  /**
   * How long to wait before restarting a container that finished at `finishedAt`, given that
   * the restart happens after that wait. 0 = restart now.
   */
  next(finishedAt: number): number {
    if (this.armed && finishedAt - this.lastUpdate > this.policy.resetMs) this.armed = false;
    if (!this.armed) {
      this.armed = true;
      this.delay = this.policy.initialMs;
      this.lastUpdate = finishedAt;
      return 0;
    }
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.policy.maxMs);
    this.lastUpdate = finishedAt + wait;
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
