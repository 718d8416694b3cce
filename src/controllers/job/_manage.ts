/**
 * kube's manageJob: toward min(parallelism, completions left) active pods — none while the Job is
 * suspended —, deleting the surplus (kube's deletion order; for an Indexed Job repeated and
 * out-of-range indexes first) or creating the missing ones in slow-start batches (1, 2, 4, …,
 * stopping at the first batch with a failure), after the pod failure back-off. At most 500 pods
 * per sync.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { remainingBackoff } from "./_backoff.ts";
import { finishedAt, isReady, isTerminating, onlyReplaceFailed } from "./_failure.ts";
import { firstPending, withIndexes } from "./_indexes.ts";
import {
  completionIndex,
  hasTrackingFinalizer,
  indexAbsoluteFailureCount,
  podForJob,
  podsToRemove,
} from "./_pods.ts";
import {
  indexed,
  type JobDeps,
  MAX_PODS_PER_SYNC,
  perIndex,
  podKey,
  type Sync,
  suspended,
} from "./_sync.ts";

/** Deletes pods (removing the finalizer first when asked); returns [deleted, ready deleted]. */
export async function deletePods(
  s: Sync,
  deps: JobDeps,
  pods: Pod[],
  dropFinalizer: boolean,
): Promise<[number, number, unknown]> {
  let deleted = 0;
  let ready = 0;
  let error: unknown;
  await Promise.all(
    pods.map(async (p) => {
      try {
        if (dropFinalizer && hasTrackingFinalizer(p)) await deps.removeFinalizer(p);
        await deps.deletePod(p);
        deleted++;
        if (isReady(p)) ready++;
        deps.event(s.job, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata?.name ?? ""}`);
      } catch (e) {
        deps.expectations.deletionObserved(s.key, podKey(p));
        deps.event(s.job, "Warning", "FailedDelete", `Error deleting: ${String(e)}`);
        error ??= e;
      }
    }),
  );
  return [deleted, ready, error];
}

async function createPods(
  s: Sync,
  deps: JobDeps,
  count: number,
  indexes: number[],
): Promise<[number, unknown]> {
  const job = s.job;
  const ns = job.metadata?.namespace ?? "";
  deps.expectations.expectCreations(s.key, count);
  let created = 0;
  let error: unknown;
  let left = count;
  // kube's slow start: batches of 1, 2, 4, … stop at the first batch with a failure.
  for (let batch = Math.min(1, left); left > 0; batch = Math.min(2 * batch, left)) {
    const results = await Promise.all(
      Array.from({ length: batch }, async () => {
        const ix = indexes.length > 0 ? (indexes.shift() as number) : -1;
        const pod = podForJob(job, ix, ix >= 0 ? s.delayedDeletion.get(ix) : undefined);
        try {
          const made = await deps.createPod(ns, pod);
          deps.event(
            job,
            "Normal",
            "SuccessfulCreate",
            `Created pod: ${made.metadata?.name ?? ""}`,
          );
          return true;
        } catch (e) {
          deps.expectations.creationObserved(s.key);
          deps.event(job, "Warning", "FailedCreate", `Error creating: ${String(e)}`);
          error ??= e;
          return false;
        }
      }),
    );
    created += results.filter(Boolean).length;
    left -= batch;
    if (results.includes(false)) {
      for (let i = 0; i < left; i++) deps.expectations.creationObserved(s.key);
      break;
    }
  }
  return [created, error];
}

/** kube's manageJob: the active count after creating or deleting pods. */
export async function manage(s: Sync, deps: JobDeps): Promise<[number, unknown]> {
  const job = s.job;
  const active = s.active.length;
  if (suspended(job)) {
    const remove = podsToRemove(job, s.active, active);
    deps.expectations.expectDeletions(s.key, remove.map(podKey));
    const [deleted, ready, err] = await deletePods(s, deps, remove, true);
    s.terminating += deleted;
    s.ready -= ready;
    return [active - deleted, err];
  }
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  const want =
    completions === undefined || completions === null
      ? s.succeeded > 0
        ? active
        : parallelism
      : Math.max(0, Math.min(completions - s.succeeded, parallelism));
  const remove = podsToRemove(job, s.active, Math.max(0, active - want)).slice(
    0,
    MAX_PODS_PER_SYNC,
  );
  if (remove.length > 0) {
    deps.expectations.expectDeletions(s.key, remove.map(podKey));
    const [deleted, ready, err] = await deletePods(s, deps, remove, true);
    s.terminating += deleted;
    s.ready -= ready;
    return [active - deleted, err];
  }
  const terminating = onlyReplaceFailed(job) ? s.terminating : 0;
  let diff = want - terminating - active;
  if (diff <= 0) return [active, undefined];
  const now = deps.now();
  if (!perIndex(job)) {
    const wait = remainingBackoff(
      s.backoff.failuresAfterLastSuccess,
      s.backoff.lastFailureTime,
      now,
    );
    if (wait > 0) {
      s.requeue.push(wait);
      return [active, undefined];
    }
  }
  diff = Math.min(diff, MAX_PODS_PER_SYNC);
  let indexes: number[] = [];
  if (indexed(job)) {
    const taken = [
      ...withIndexes(
        s.succeededIndexes,
        s.active.map(completionIndex).filter((i) => i >= 0),
      ),
    ];
    const terminatingIdx = onlyReplaceFailed(job)
      ? s.pods
          .filter(isTerminating)
          .map(completionIndex)
          .filter((i) => i >= 0)
      : [];
    const blocked = withIndexes([...taken, ...(s.failedIndexes ?? [])], terminatingIdx);
    indexes = firstPending(blocked, diff, completions ?? 0);
    if (perIndex(job)) {
      let soonest: number | undefined;
      indexes = indexes.filter((ix) => {
        const last = s.delayedDeletion.get(ix);
        if (!last) return true;
        const wait = remainingBackoff(indexAbsoluteFailureCount(last) + 1, finishedAt(last), now);
        if (wait === 0) return true;
        soonest = soonest === undefined ? wait : Math.min(soonest, wait);
        return false;
      });
      if (indexes.length === 0 && soonest !== undefined) {
        s.requeue.push(soonest);
        return [active, undefined];
      }
    }
    diff = indexes.length;
  }
  if (diff <= 0) return [active, undefined];
  const [created, err] = await createPods(s, deps, diff, indexes);
  return [active + created, err];
}
