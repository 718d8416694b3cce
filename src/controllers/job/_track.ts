/**
 * kube's trackJobStatusAndRemoveFinalizers: finished pods are first recorded in
 * `status.uncountedTerminatedPods` (for an Indexed Job, in `completedIndexes`) and written, then
 * their tracking finalizers removed, then moved to the counters and written again — so a crash
 * between the steps neither loses nor double-counts a pod. The interim `FailureTarget` or
 * `SuccessCriteriaMet` condition goes with the first write; `Failed` or `Complete` (with
 * `completionTime`) once nothing is uncounted or terminating, with its event.
 *
 * @module
 */
import type { JobStatus } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isPodFailed, matchPodFailurePolicy } from "./_failure.ts";
import { format, has, total, withIndexes } from "./_indexes.ts";
import { completionIndex, hasTrackingFinalizer } from "./_pods.ts";
import { cleanStatus, condition, ensureCondition, findCondition } from "./_status.ts";
import { indexed, type JobDeps, MAX_PODS_PER_SYNC, perIndex, type Sync, uidOf } from "./_sync.ts";

function canRemoveFinalizer(s: Sync, pod: Pod, failed: boolean): boolean {
  if (s.job.metadata?.deletionTimestamp || s.finished || pod.status?.phase === "Succeeded")
    return true;
  if (!failed) return false;
  const ix = completionIndex(pod);
  return !(perIndex(s.job) && ix >= 0 && s.delayedDeletion.get(ix) === pod);
}

/** Moves uncounted pods whose finalizer is gone to the counters; whether anything moved. */
function countRemoved(status: JobStatus, withFinalizer: Set<string>): boolean {
  const u = status.uncountedTerminatedPods ?? {};
  let changed = false;
  for (const side of ["succeeded", "failed"] as const) {
    const list = u[side] ?? [];
    const keep = list.filter((uid) => withFinalizer.has(uid));
    if (keep.length !== list.length) {
      changed = true;
      status[side] = (status[side] ?? 0) + list.length - keep.length;
      u[side] = keep;
    }
  }
  status.uncountedTerminatedPods = u;
  return changed;
}

async function flush(s: Sync, deps: JobDeps): Promise<void> {
  s.job = await deps.writeStatus({ ...s.job, status: cleanStatus(s.job.status ?? {}) });
  s.job.status ??= {};
  s.job.status.uncountedTerminatedPods ??= {};
}

/** kube's trackJobStatusAndRemoveFinalizers. */
export async function track(s: Sync, deps: JobDeps, flushNeeded: boolean): Promise<void> {
  const job = s.job;
  const status = job.status as JobStatus;
  const uncounted = status.uncountedTerminatedPods ?? {};
  status.uncountedTerminatedPods = uncounted;
  let needsFlush = flushNeeded;
  const completions = job.spec?.completions ?? 0;
  const pods = indexed(job)
    ? [...s.pods].sort((a, b) => completionIndex(a) - completionIndex(b))
    : s.pods;
  const withFinalizer = new Set(
    pods.filter((p) => hasTrackingFinalizer(p) && !s.expectedRemoved.has(uidOf(p))).map(uidOf),
  );
  if (countRemoved(status, withFinalizer)) needsFlush = true;
  const toRemove: Pod[] = [];
  const newSucceededIdx: number[] = [];
  let reachedMax = false;
  for (const pod of pods) {
    const uid = uidOf(pod);
    if (!hasTrackingFinalizer(pod) || s.expectedRemoved.has(uid)) continue;
    const failed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(s, pod, failed)) continue;
    toRemove.push(pod);
    const ix = completionIndex(pod);
    if (pod.status?.phase === "Succeeded" && !s.uncountedFailed.has(uid)) {
      if (indexed(job)) {
        if (ix >= 0 && ix < completions && !has(s.prevSucceededIndexes, ix)) {
          newSucceededIdx.push(ix);
          needsFlush = true;
        }
      } else if (!s.uncountedSucceeded.has(uid)) {
        uncounted.succeeded = [...(uncounted.succeeded ?? []), uid];
        needsFlush = true;
      }
    } else if (failed || (s.finished && s.finished.type !== "SuccessCriteriaMet")) {
      if (!s.uncountedFailed.has(uid) && (!indexed(job) || (ix >= 0 && ix < completions))) {
        if (matchPodFailurePolicy(job, pod).counts) {
          uncounted.failed = [...(uncounted.failed ?? []), uid];
          needsFlush = true;
        }
      }
    }
    const pending =
      newSucceededIdx.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0);
    if (pending >= MAX_PODS_PER_SYNC) {
      reachedMax = true;
      break;
    }
  }
  if (indexed(job)) {
    s.succeededIndexes = withIndexes(s.succeededIndexes, newSucceededIdx);
    const text = format(s.succeededIndexes);
    if (text !== (status.completedIndexes ?? "")) needsFlush = true;
    status.succeeded = total(s.succeededIndexes);
    status.completedIndexes = text;
    if (s.failedIndexes) {
      const failedText = format(s.failedIndexes);
      if (status.failedIndexes !== failedText) needsFlush = true;
      status.failedIndexes = failedText;
    }
  }
  const now = deps.now();
  if (s.finished?.type === "FailureTarget") {
    status.conditions = [...(status.conditions ?? []), s.finished];
    needsFlush = true;
    s.finished = condition(
      "Failed",
      "True",
      s.finished.reason ?? "",
      s.finished.message ?? "",
      now,
    );
  }
  if (s.finished?.type === "SuccessCriteriaMet") {
    if (!findCondition(job, "SuccessCriteriaMet")) {
      status.conditions = [...(status.conditions ?? []), s.finished];
      needsFlush = true;
    }
    s.finished = condition(
      "Complete",
      "True",
      s.finished.reason ?? "",
      s.finished.message ?? "",
      now,
    );
  }

  // Record before removing finalizers, so that a crash in between loses no pod.
  if (needsFlush) {
    await flush(s, deps);
    deps.backoff.set(s.key, s.backoff);
    needsFlush = false;
  }
  let removeError: unknown;
  if (toRemove.length > 0) {
    deps.finalizers.expect(s.key, toRemove.map(uidOf));
    await Promise.all(
      toRemove.map(async (p) => {
        try {
          await deps.removeFinalizer(p);
          withFinalizer.delete(uidOf(p));
        } catch (e) {
          deps.finalizers.observed(s.key, uidOf(p));
          removeError ??= e;
        }
      }),
    );
  }
  const after = s.job.status as JobStatus;
  if (countRemoved(after, withFinalizer)) needsFlush = true;
  if (removeError) {
    if (needsFlush) await flush(s, deps);
    throw removeError;
  }
  let finishedNow = false;
  if (!reachedMax && s.finished) {
    const u = after.uncountedTerminatedPods ?? {};
    const pending = (u.succeeded?.length ?? 0) + (u.failed?.length ?? 0);
    if (pending === 0 && s.terminating === 0) {
      ensureCondition(after, s.finished, now);
      if (s.finished.type === "Complete" && s.finished.lastTransitionTime)
        after.completionTime = s.finished.lastTransitionTime;
      finishedNow = true;
      needsFlush = true;
    }
  }
  if (needsFlush) {
    await flush(s, deps);
    if (finishedNow && s.finished) {
      if (s.finished.type === "Complete") {
        const completionsWanted = job.spec?.completions;
        if (completionsWanted != null && (s.job.status?.succeeded ?? 0) > completionsWanted)
          deps.event(
            s.job,
            "Warning",
            "TooManySucceededPods",
            "Too many succeeded pods running after completion count reached",
          );
        deps.event(s.job, "Normal", "Completed", "Job completed");
      } else deps.event(s.job, "Warning", s.finished.reason ?? "", s.finished.message ?? "");
    }
  }
}
