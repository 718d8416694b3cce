/**
 * The pod failure back-off of the Job controller: after consecutive failures (since the last
 * success) the next pod waits 10 s, doubling per failure up to 10 minutes (kube's
 * DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff), counted from the last failure. Per
 * index (backoffLimitPerIndex) the count is the index's failure-count annotation.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { finishedAt } from "./_failure.ts";

export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** The record after this sync's newly finished pods. */
export function nextBackoffRecord(
  old: BackoffRecord | undefined,
  succeeded: readonly Pod[],
  failed: readonly Pod[],
): BackoffRecord {
  const record: BackoffRecord = { failuresAfterLastSuccess: 0, ...old };
  const failedTimes = failed.map(finishedAt).sort((a, b) => a - b);
  if (succeeded.length === 0) {
    if (failedTimes.length === 0) return record;
    return {
      failuresAfterLastSuccess: record.failuresAfterLastSuccess + failedTimes.length,
      lastFailureTime: failedTimes[failedTimes.length - 1] as number,
    };
  }
  const lastSuccess = Math.max(...succeeded.map(finishedAt));
  const after = failedTimes.filter((t) => t > lastSuccess);
  if (after.length === 0) return { failuresAfterLastSuccess: 0 };
  return {
    failuresAfterLastSuccess: after.length,
    lastFailureTime: after[after.length - 1] as number,
  };
}

/** Milliseconds still to wait after `failures` consecutive failures, the last at `lastFailure`. */
export function remainingBackoff(
  failures: number,
  lastFailure: number | undefined,
  now: number,
): number {
  if (failures === 0 || lastFailure === undefined) return 0;
  let delay = POD_FAILURE_BACKOFF_MS;
  for (let i = 1; i < failures; i++) {
    delay *= 2;
    if (delay >= MAX_POD_FAILURE_BACKOFF_MS) {
      delay = MAX_POD_FAILURE_BACKOFF_MS;
      break;
    }
  }
  const elapsed = now - lastFailure;
  return delay < elapsed ? 0 : delay - elapsed;
}
