/**
 * The TTL-after-finished sync (kube's ttlafterfinished controller): a finished Job with
 * `spec.ttlSecondsAfterFinished` is deleted (foreground, so its pods go first) that many seconds
 * after it finished — its `completionTime`, or when its Complete or Failed condition turned True.
 * Before deleting, the Job is read again from the API: the TTL may have changed or been removed.
 *
 * @module
 */
import type { Job } from "kubernetes-types/batch/v1.js";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";

export interface TtlDeps {
  getJob(namespace: string, name: string): Job | undefined;
  /** The Job as the API has it now, or undefined when gone. */
  freshJob(namespace: string, name: string): Promise<Job | undefined>;
  /** Deletes the Job (foreground, uid precondition). */
  deleteJob(job: Job): Promise<void>;
  now(): number;
}

/** When the Job finished, in ms, or undefined while it runs. */
export function finishedAt(job: Job): number | undefined {
  const done = job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
  if (!done) return undefined;
  const at = Date.parse(
    done.type === "Complete"
      ? (job.status?.completionTime ?? done.lastTransitionTime ?? "")
      : (done.lastTransitionTime ?? ""),
  );
  return Number.isNaN(at) ? undefined : at;
}

/** Milliseconds until the Job expires (≤ 0: now), or undefined when it never does. */
export function timeLeft(job: Job, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata?.deletionTimestamp) return undefined;
  const finished = finishedAt(job);
  return finished === undefined ? undefined : finished + ttl * 1000 - now;
}

export async function reconcileTtl(key: string, deps: TtlDeps): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const cached = deps.getJob(namespace, name);
  if (!cached) return;
  const left = timeLeft(cached, deps.now());
  if (left === undefined) return;
  if (left > 0) return { requeueAfter: left };
  const fresh = await deps.freshJob(namespace, name);
  if (!fresh || fresh.metadata?.uid !== cached.metadata?.uid) return;
  const freshLeft = timeLeft(fresh, deps.now());
  if (freshLeft === undefined) return;
  if (freshLeft > 0) return { requeueAfter: freshLeft };
  await deps.deleteJob(fresh);
}
