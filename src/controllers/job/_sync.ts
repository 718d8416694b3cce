/**
 * The state of one Job sync, shared by its parts: the dependencies (`JobDeps`), what the sync has
 * learned (`Sync`), and small facts about a Job and its pods.
 *
 * @module
 */
import type { Job, JobCondition } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { Expectations } from "../_expectations.ts";
import type { BackoffRecord } from "./_backoff.ts";
import type { FinalizerExpectations } from "./_finalizers.ts";
import type { Interval } from "./_indexes.ts";
import { completionIndex, hasTrackingFinalizer } from "./_pods.ts";

/** Pods created or deleted in one sync, and finished pods counted in one status write (kube's). */
export const MAX_PODS_PER_SYNC = 500;

export interface JobDeps {
  getJob(namespace: string, name: string): Job | undefined;
  /** The pods the Job controls plus the namespace's pods without a controller. */
  listPods(job: Job): Pod[];
  adoptPod(job: Job, pod: Pod): Promise<Pod>;
  createPod(namespace: string, pod: Pod): Promise<Pod>;
  /** Deletes a pod (NotFound is success). */
  deletePod(pod: Pod): Promise<void>;
  /** Removes the tracking finalizer (NotFound is success). */
  removeFinalizer(pod: Pod): Promise<void>;
  /** Replaces the status (resourceVersion-guarded); resolves to the Job as stored. */
  writeStatus(job: Job): Promise<Job>;
  event(job: Job, type: "Normal" | "Warning", reason: string, message: string): void;
  expectations: Expectations;
  finalizers: FinalizerExpectations;
  backoff: Map<string, BackoffRecord>;
  now(): number;
}

export interface Sync {
  key: string;
  job: Job;
  pods: Pod[];
  active: Pod[];
  ready: number;
  terminating: number;
  succeeded: number;
  failed: number;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRemoved: ReadonlySet<string>;
  finished?: JobCondition | undefined;
  prevSucceededIndexes: Interval[];
  succeededIndexes: Interval[];
  failedIndexes?: Interval[] | undefined;
  /** For backoffLimitPerIndex: the last failed pod of each index not yet replaced. */
  delayedDeletion: Map<number, Pod>;
  backoff: BackoffRecord;
  requeue: number[];
}

export const uidOf = (p: Pod) => p.metadata?.uid ?? "";
export const podKey = (p: Pod) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
export const indexed = (job: Job) => job.spec?.completionMode === "Indexed";
export const suspended = (job: Job) => job.spec?.suspend === true;
export const perIndex = (job: Job) => indexed(job) && job.spec?.backoffLimitPerIndex !== undefined;

/** Finished pods not yet counted: carrying the finalizer, not uncounted, not being removed. */
export function newFinished(s: Sync, uncounted: Set<string>, pick: (p: Pod) => boolean): Pod[] {
  const completions = s.job.spec?.completions ?? 0;
  return s.pods.filter((p) => {
    const uid = uidOf(p);
    if (!hasTrackingFinalizer(p) || uncounted.has(uid) || s.expectedRemoved.has(uid)) return false;
    if (indexed(s.job)) {
      const ix = completionIndex(p);
      if (ix < 0 || ix >= completions) return false;
    }
    return pick(p);
  });
}
