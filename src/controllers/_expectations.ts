/**
 * kube's ControllerExpectations (UID-tracking flavour), shared by the workload controllers: what
 * a controller has asked the API for and not yet seen in its informer. While an owner's creations
 * or deletions are outstanding it must not act on its (stale) cache, or it would create or delete
 * twice. Expectations expire after
 * five minutes so that a lost watch event cannot wedge a set forever.
 *
 * @module
 */

export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  /** Keys (`ns/name`) of pods whose deletion has not been observed yet. */
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  readonly #items = new Map<string, Expectation>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** True when the controller may trust its cache for `key` (nothing outstanding, or expired). */
  satisfied(key: string): boolean {
    const e = this.#items.get(key);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.#now() - e.at > EXPECTATIONS_TTL_MS;
  }

  expectCreations(key: string, count: number): void {
    this.#items.set(key, { adds: count, deletes: new Set(), at: this.#now() });
  }

  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.#items.set(key, { adds: 0, deletes: new Set(podKeys), at: this.#now() });
  }

  /** Creations and deletions at once (kube's SetExpectations; the DaemonSet controller's). */
  expect(key: string, adds: number, podKeys: readonly string[]): void {
    this.#items.set(key, { adds, deletes: new Set(podKeys), at: this.#now() });
  }

  creationObserved(key: string): void {
    const e = this.#items.get(key);
    if (e) e.adds--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.#items.get(key)?.deletes.delete(podKey);
  }

  forget(key: string): void {
    this.#items.delete(key);
  }
}
