/**
 * The Job sync (kube's `syncJob`), level-based on a `namespace/name` key, every I/O behind `deps`
 * and the clock injected.
 *
 * 1. Claim the pods: those the Job controls, plus orphans its selector matches (adopted with a
 *    controller reference and the tracking finalizer).
 * 2. Count: `succeeded`/`failed` are the status counters, plus finished pods still carrying the
 *    tracking finalizer, plus `status.uncountedTerminatedPods`. An Indexed Job counts succeeded
 *    indexes instead.
 * 3. Decide whether the Job has failed (a pod failure policy `FailJob` match, failures past
 *    backoffLimit, restarts past it for OnFailure pods, activeDeadlineSeconds, failed indexes) or
 *    succeeded (completions reached; the success policy of an Indexed Job).
 * 4. Finished: delete the active pods. Otherwise create or delete pods toward
 *    min(parallelism, completions left) — none while suspended — with kube's pod failure
 *    back-off (10 s doubling to 10 min, per index with backoffLimitPerIndex).
 * 5. Track, in kube's order so that no pod is counted twice or lost: record finished pods in
 *    `uncountedTerminatedPods` (write), remove their finalizers, move them to the counters
 *    (write). The interim `SuccessCriteriaMet`/`FailureTarget` condition is written with the
 *    first write; `Complete`/`Failed` once nothing is uncounted or terminating.
 *
 * @module
 */
import type { Job, JobCondition, JobSpec } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";
import { controllerOf } from "../_owners.ts";
import { nextBackoffRecord } from "./_backoff.ts";
import {
  finishedAt,
  isActive,
  isPodFailed,
  isReady,
  isTerminating,
  matchPodFailurePolicy,
} from "./_failure.ts";
import { has, type Interval, parseIndexes, total, withIndexes } from "./_indexes.ts";
import { deletePods, manage } from "./_manage.ts";
import {
  completionIndex,
  hasTrackingFinalizer,
  indexAbsoluteFailureCount,
  indexFailureCount,
} from "./_pods.ts";
import {
  condition,
  ensureCondition,
  findCondition,
  isFinished,
  isTrue,
  MESSAGE,
  REASON,
  rfc3339,
} from "./_status.ts";
import { indexed, type JobDeps, newFinished, perIndex, type Sync, suspended } from "./_sync.ts";
import { track } from "./_track.ts";

export { type JobDeps, MAX_PODS_PER_SYNC } from "./_sync.ts";

/** Claims the pods: orphans the selector matches are adopted (unless the Job is being deleted). */
async function claimPods(job: Job, deps: JobDeps): Promise<Pod[]> {
  const uid = job.metadata?.uid;
  const selector = selectorFromLabelSelector(job.spec?.selector);
  const out: Pod[] = [];
  for (const pod of deps.listPods(job)) {
    const ref = controllerOf(pod);
    if (ref) {
      if (ref.uid === uid) out.push(pod);
      continue;
    }
    if (job.metadata?.deletionTimestamp || pod.metadata?.deletionTimestamp) continue;
    if (!matches(selector, pod.metadata?.labels ?? {})) continue;
    out.push(await deps.adoptPod(job, pod));
  }
  return out;
}

function pastBackoffLimitOnFailure(job: Job, pods: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== "Running" && phase !== "Pending") continue;
    for (const c of [
      ...(p.status?.initContainerStatuses ?? []),
      ...(p.status?.containerStatuses ?? []),
    ])
      restarts += c.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

function isIndexFailed(job: Job, pod: Pod): boolean {
  if (!isPodFailed(pod, job)) return false;
  const match = matchPodFailurePolicy(job, pod);
  if (match.action === "FailIndex") return true;
  return match.counts && indexFailureCount(pod) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

/** The success policy's first matching rule, as `Matched rules at index N`. */
function successPolicyMessage(job: Job, succeeded: Interval[]): string | undefined {
  const completions = job.spec?.completions ?? 0;
  for (const [i, rule] of (job.spec?.successPolicy?.rules ?? []).entries()) {
    const wanted =
      rule.succeededIndexes !== undefined
        ? parseIndexes(rule.succeededIndexes, completions)
        : undefined;
    let count = 0;
    let all = true;
    if (wanted) {
      for (const iv of wanted)
        for (let ix = iv.first; ix <= iv.last; ix++) {
          if (has(succeeded, ix)) count++;
          else all = false;
        }
    } else count = total(succeeded);
    const ok =
      rule.succeededCount !== undefined
        ? count >= rule.succeededCount
        : wanted !== undefined && all;
    if (ok) return `Matched rules at index ${i}`;
  }
  return undefined;
}

function failure(reason: string, message: string, now: number): JobCondition {
  return condition("FailureTarget", "True", reason, message, now);
}

/** The pod whose deletion waits for its replacement, per index (backoffLimitPerIndex). */
function delayedDeletionPerIndex(s: Sync): Map<number, Pod> {
  const out = new Map<number, Pod>();
  const completions = s.job.spec?.completions ?? 0;
  const activeIdx = new Set(s.active.map(completionIndex));
  for (const p of newFinished(s, new Set(), (pod) => isPodFailed(pod, s.job))) {
    const ix = completionIndex(p);
    if (ix < 0 || ix >= completions) continue;
    if (has(s.succeededIndexes, ix) || has(s.failedIndexes ?? [], ix) || activeIdx.has(ix))
      continue;
    const prev = out.get(ix);
    if (
      !prev ||
      (indexAbsoluteFailureCount(prev) <= indexAbsoluteFailureCount(p) &&
        finishedAt(p) >= finishedAt(prev))
    )
      out.set(ix, p);
  }
  return out;
}

export async function reconcileJob(key: string, deps: JobDeps): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const shared = deps.getJob(namespace, name);
  if (!shared) {
    deps.expectations.forget(key);
    deps.finalizers.forget(key);
    deps.backoff.delete(key);
    return;
  }
  const managedBy = shared.spec?.managedBy;
  if (managedBy !== undefined && managedBy !== "kubernetes.io/job-controller") return;
  if (isFinished(shared)) {
    deps.backoff.delete(key);
    return;
  }
  const job = structuredClone(shared) as Job;
  job.status ??= {};
  job.status.uncountedTerminatedPods ??= {};
  const status = job.status;
  const now = deps.now();
  const satisfied = deps.expectations.satisfied(key);
  const pods = await claimPods(job, deps);
  const active = pods.filter(isActive);
  const s: Sync = {
    key,
    job,
    pods,
    active,
    ready: active.filter(isReady).length,
    terminating: pods.filter(isTerminating).length,
    succeeded: 0,
    failed: 0,
    uncountedSucceeded: new Set(status.uncountedTerminatedPods?.succeeded ?? []),
    uncountedFailed: new Set(status.uncountedTerminatedPods?.failed ?? []),
    expectedRemoved: deps.finalizers.expected(key),
    prevSucceededIndexes: [],
    succeededIndexes: [],
    delayedDeletion: new Map(),
    backoff: { failuresAfterLastSuccess: 0 },
    requeue: [],
  };
  const newSucceeded = newFinished(s, s.uncountedSucceeded, (p) => p.status?.phase === "Succeeded");
  const newFailed = newFinished(s, s.uncountedFailed, (p) => isPodFailed(p, job));
  s.succeeded = (status.succeeded ?? 0) + newSucceeded.length + s.uncountedSucceeded.size;
  s.failed =
    (status.failed ?? 0) +
    newFailed.filter((p) => matchPodFailurePolicy(job, p).counts).length +
    s.uncountedFailed.size;
  if (!status.startTime && !suspended(job)) status.startTime = rfc3339(now);
  s.backoff = nextBackoffRecord(deps.backoff.get(key), newSucceeded, newFailed);

  const spec: JobSpec = job.spec ?? { template: {} };
  if (isTrue(job, "SuccessCriteriaMet")) s.finished = findCondition(job, "SuccessCriteriaMet");
  else if (isTrue(job, "FailureTarget")) {
    const target = findCondition(job, "FailureTarget") as JobCondition;
    s.finished = condition("Failed", "True", target.reason ?? "", target.message ?? "", now);
  } else {
    const failJob = pods
      .filter((p) => isPodFailed(p, job))
      .map((p) => matchPodFailurePolicy(job, p).failJobMessage)
      .find((m) => m !== undefined);
    if (failJob) s.finished = failure(REASON.podFailurePolicy, failJob, now);
  }
  if (!s.finished) {
    const deadline = spec.activeDeadlineSeconds;
    const started = status.startTime ? Date.parse(status.startTime) : undefined;
    if (s.failed > (spec.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods))
      s.finished = failure(REASON.backoffLimit, MESSAGE.backoffLimit, now);
    else if (deadline != null && started !== undefined && !suspended(job)) {
      const left = started + deadline * 1000 - now;
      if (left <= 0) s.finished = failure(REASON.deadline, MESSAGE.deadline, now);
      else s.requeue.push(left);
    }
  }
  if (indexed(job)) {
    const completions = spec.completions ?? 0;
    s.prevSucceededIndexes = parseIndexes(status.completedIndexes, completions);
    s.succeededIndexes = withIndexes(
      s.prevSucceededIndexes,
      pods
        .filter((p) => p.status?.phase === "Succeeded" && hasTrackingFinalizer(p))
        .map(completionIndex)
        .filter((ix) => ix >= 0 && ix < completions),
    );
    s.succeeded = total(s.succeededIndexes);
    if (perIndex(job)) {
      s.failedIndexes = withIndexes(
        parseIndexes(status.failedIndexes, completions),
        pods
          .filter((p) => hasTrackingFinalizer(p) && isIndexFailed(job, p))
          .map(completionIndex)
          .filter((ix) => ix >= 0 && ix < completions),
      );
      const failedCount = total(s.failedIndexes);
      if (!s.finished) {
        if (spec.maxFailedIndexes != null && failedCount > spec.maxFailedIndexes)
          s.finished = failure(REASON.maxFailedIndexes, MESSAGE.maxFailedIndexes, now);
        else if (failedCount > 0 && failedCount + s.succeeded >= completions)
          s.finished = failure(REASON.failedIndexes, MESSAGE.failedIndexes, now);
      }
      s.delayedDeletion = delayedDeletionPerIndex(s);
    }
    if (!s.finished && spec.successPolicy) {
      const message = successPolicyMessage(job, s.succeededIndexes);
      if (message)
        s.finished = condition("SuccessCriteriaMet", "True", REASON.successPolicy, message, now);
    }
  }

  let activeCount = active.length;
  let manageError: unknown;
  let suspendChanged = false;
  if (s.finished) {
    const [deleted, ready, err] = await deletePods(s, deps, active, false);
    if (deleted !== active.length || !satisfied) s.finished = undefined;
    activeCount -= deleted;
    s.terminating += deleted;
    s.ready -= ready;
    manageError = err;
  } else {
    let managed = false;
    if (satisfied && !job.metadata?.deletionTimestamp) {
      [activeCount, manageError] = await manage(s, deps);
      managed = true;
    }
    const completions = spec.completions;
    const complete =
      completions === undefined || completions === null
        ? s.succeeded > 0 && activeCount === 0
        : s.succeeded >= completions && activeCount === 0;
    if (complete)
      s.finished = condition(
        "SuccessCriteriaMet",
        "True",
        REASON.completionsReached,
        MESSAGE.completionsReached,
        now,
      );
    else if (managed) {
      if (suspended(job)) {
        if (
          ensureCondition(
            status,
            condition("Suspended", "True", "JobSuspended", "Job suspended", now),
            now,
          )
        ) {
          suspendChanged = true;
          deps.event(job, "Normal", "Suspended", "Job suspended");
        }
      } else if (
        ensureCondition(
          status,
          condition("Suspended", "False", "JobResumed", "Job resumed", now),
          now,
        )
      ) {
        suspendChanged = true;
        deps.event(job, "Normal", "Resumed", "Job resumed");
        // Resuming restarts the activeDeadlineSeconds clock.
        status.startTime = rfc3339(now);
      }
    }
  }
  const needsUpdate =
    suspendChanged ||
    activeCount !== (status.active ?? 0) ||
    s.ready !== status.ready ||
    s.terminating !== status.terminating;
  status.active = activeCount;
  status.ready = s.ready;
  status.terminating = s.terminating;
  await track(s, deps, needsUpdate);
  if (manageError) throw manageError;
  if (s.requeue.length > 0) return { requeueAfter: Math.max(1000, Math.min(...s.requeue)) };
}
