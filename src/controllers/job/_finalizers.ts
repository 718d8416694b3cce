/**
 * kube's uidTrackingExpectations: per Job, the pods whose tracking finalizer this controller has
 * removed and not yet seen removed in its informer. Until then such a pod is neither counted
 * again nor patched again.
 *
 * @module
 */
export class FinalizerExpectations {
  readonly #byJob = new Map<string, Set<string>>();

  expected(job: string): ReadonlySet<string> {
    return this.#byJob.get(job) ?? new Set();
  }

  expect(job: string, uids: readonly string[]): void {
    const set = this.#byJob.get(job) ?? new Set<string>();
    for (const u of uids) set.add(u);
    this.#byJob.set(job, set);
  }

  observed(job: string, uid: string): void {
    const set = this.#byJob.get(job);
    set?.delete(uid);
    if (set?.size === 0) this.#byJob.delete(job);
  }

  forget(job: string): void {
    this.#byJob.delete(job);
  }
}
