/**
 * The failed-pod back-off of the DaemonSet controller (client-go's flowcontrol.Backoff as
 * kube-controller-manager configures it: 1 s doubling to 15 min), keyed by DaemonSet uid,
 * observed generation and node, so that a kubelet that keeps failing a daemon pod is not fought
 * in a hot loop. An entry idle for twice the maximum starts over. Time comes from the caller.
 *
 * @module
 */

export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 15 * 60 * 1000;

interface Entry {
  delay: number;
  at: number;
}

export class FailedPodBackoff {
  readonly #entries = new Map<string, Entry>();

  /** The time left before `key` may act again, or undefined when it is not backing off. */
  waiting(key: string, now: number): number | undefined {
    const e = this.#entries.get(key);
    if (!e || now - e.at >= e.delay) return undefined;
    return e.delay - (now - e.at);
  }

  /** Records an action for `key`: the next one waits twice as long as the last (kube's Next). */
  next(key: string, now: number): void {
    const e = this.#entries.get(key);
    const delay =
      !e || now - e.at > 2 * BACKOFF_MAX_MS
        ? BACKOFF_INITIAL_MS
        : Math.min(e.delay * 2, BACKOFF_MAX_MS);
    this.#entries.set(key, { delay, at: now });
  }

  /** Forgets entries idle for twice the maximum (kube's GC, run once a minute). */
  gc(now: number): void {
    for (const [key, e] of this.#entries)
      if (now - e.at > 2 * BACKOFF_MAX_MS) this.#entries.delete(key);
  }
}
