/**
 * Job conditions and the shape of a written status. Conditions follow kube 1.32: a Job that
 * succeeds first gets `SuccessCriteriaMet` and one that fails `FailureTarget` (same reason and
 * message); `Complete` or `Failed` follow once no pod is left running or terminating and every
 * finished pod is counted. `Suspended` turns False (JobResumed) rather than going away.
 *
 * @module
 */
import type { Job, JobCondition, JobStatus } from "kubernetes-types/batch/v1.js";

export type ConditionType =
  | "Complete"
  | "Failed"
  | "FailureTarget"
  | "SuccessCriteriaMet"
  | "Suspended";

export const REASON = {
  backoffLimit: "BackoffLimitExceeded",
  deadline: "DeadlineExceeded",
  podFailurePolicy: "PodFailurePolicy",
  maxFailedIndexes: "MaxFailedIndexesExceeded",
  failedIndexes: "FailedIndexes",
  successPolicy: "SuccessPolicy",
  completionsReached: "CompletionsReached",
} as const;

export const MESSAGE = {
  backoffLimit: "Job has reached the specified backoff limit",
  deadline: "Job was active longer than specified deadline",
  maxFailedIndexes: "Job has exceeded the specified maximal number of failed indexes",
  failedIndexes: "Job has failed indexes",
  completionsReached: "Reached expected number of succeeded pods",
} as const;

export const rfc3339 = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export function condition(
  type: ConditionType,
  status: "True" | "False",
  reason: string,
  message: string,
  now: number,
): JobCondition {
  const t = rfc3339(now);
  return {
    type,
    status,
    lastProbeTime: t,
    lastTransitionTime: t,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

export function findCondition(job: Job, type: ConditionType): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

export function isTrue(job: Job, type: ConditionType): boolean {
  return findCondition(job, type)?.status === "True";
}

export function isFinished(job: Job): boolean {
  return isTrue(job, "Complete") || isTrue(job, "Failed");
}

/**
 * Sets a condition's status, reason and message (a new condition is added unless it would be
 * False); returns whether anything changed.
 */
export function ensureCondition(status: JobStatus, c: JobCondition, now: number): boolean {
  const list = status.conditions ?? [];
  const i = list.findIndex((x) => x.type === c.type);
  if (i >= 0) {
    const old = list[i] as JobCondition;
    if (old.status === c.status && old.reason === c.reason && old.message === c.message)
      return false;
    list[i] = condition(
      c.type as ConditionType,
      c.status as "True" | "False",
      c.reason ?? "",
      c.message ?? "",
      now,
    );
    status.conditions = list;
    return true;
  }
  if (c.status === "False") return false;
  status.conditions = [...list, c];
  return true;
}

/** The status as kube serializes it: zero counters and empty lists left out. */
export function cleanStatus(status: JobStatus): JobStatus {
  const out: JobStatus = { ...status };
  for (const k of ["active", "succeeded", "failed"] as const) if (!out[k]) delete out[k];
  if (!out.completedIndexes) delete out.completedIndexes;
  const u = out.uncountedTerminatedPods;
  if (u) {
    out.uncountedTerminatedPods = {
      ...(u.succeeded?.length ? { succeeded: u.succeeded } : {}),
      ...(u.failed?.length ? { failed: u.failed } : {}),
    };
  }
  return out;
}
