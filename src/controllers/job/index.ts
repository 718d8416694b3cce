/**
 * The Job controller: runs each Job's pods to completion (`reconcile.ts`). Job changes sync the
 * Job at once; pod changes sync the owning Job after a short batching delay (kube waits 1 s to
 * fold a burst of pod events into one sync; `batchMs`, default 100 ms), and feed the creation,
 * deletion and finalizer-removal expectations.
 *
 * One queue with two kinds of keys: `namespace/name` for Jobs, `pod:namespace/name` for pods that
 * still carry the tracking finalizer but whose Job is gone or finished (the finalizer is removed,
 * as kube's orphan-pod worker does).
 *
 * @module
 */
import type { Job } from "kubernetes-types/batch/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, splitKey, typed } from "../../api/types.ts";
import { CONTROLLER_UID_INDEX, controllerUidIndex } from "../../client/index.ts";
import { defineController } from "../_define.ts";
import { Expectations } from "../_expectations.ts";
import { controllerOf, ownerRef, patchOwners } from "../_owners.ts";
import type { BackoffRecord } from "./_backoff.ts";
import { FinalizerExpectations } from "./_finalizers.ts";
import { hasTrackingFinalizer, JOB, TRACKING_FINALIZER } from "./_pods.ts";
import { isFinished } from "./_status.ts";
import { reconcileJob } from "./reconcile.ts";

export { podForJob, TRACKING_FINALIZER } from "./_pods.ts";
export { type JobDeps, reconcileJob } from "./reconcile.ts";

export const NAME = "job-controller";
const ORPHANS = "job-orphan-pods";
const POD_KEY = "pod:";

export const startJobController = defineController<{ batchMs?: number }>({
  name: NAME,
  workers: 4,
  setup({ ctx, queue, watch, eventsFor }, options) {
    const jobs = ctx.informers.get<Job & KubeObject>(REFS.jobs);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    pods.index(CONTROLLER_UID_INDEX, controllerUidIndex);
    pods.index(ORPHANS, (p) => (controllerOf(p) ? [] : [p.metadata.namespace ?? ""]));
    const batchMs = options.batchMs ?? 100;
    const now = () => ctx.now().getTime();
    const expectations = new Expectations(now);
    const finalizers = new FinalizerExpectations();
    const backoff = new Map<string, BackoffRecord>();

    const jobOf = (pod: Pod): (Job & KubeObject) | undefined => {
      const ref = controllerOf(pod);
      if (ref?.kind !== "Job" || ref.apiVersion !== "batch/v1") return undefined;
      const job = jobs.get(pod.metadata?.namespace ?? "", ref.name);
      return job?.metadata.uid === ref.uid ? job : undefined;
    };
    const orphanCheck = (pod: Pod) => {
      if (hasTrackingFinalizer(pod)) queue.add(`${POD_KEY}${objectKey(pod)}`);
    };
    /** Wakes whoever cares about a pod: its Job, or the Jobs that might adopt an orphan. */
    const podChanged = (pod: Pod, deleted: boolean) => {
      const job = jobOf(pod);
      if (!job) {
        if (controllerOf(pod)?.kind === "Job") {
          orphanCheck(pod);
          return;
        }
        if (controllerOf(pod)) return;
        orphanCheck(pod);
        for (const j of jobs.list(pod.metadata?.namespace ?? ""))
          queue.addAfter(objectKey(j), batchMs);
        return;
      }
      const key = objectKey(job);
      if (deleted || !hasTrackingFinalizer(pod)) finalizers.observed(key, pod.metadata?.uid ?? "");
      if (isFinished(job)) orphanCheck(pod);
      queue.addAfter(key, batchMs);
    };
    const cleanupPods = (job: Job & KubeObject) => {
      for (const p of pods.byIndex(CONTROLLER_UID_INDEX, job.metadata.uid ?? ""))
        if (hasTrackingFinalizer(p)) queue.add(`${POD_KEY}${objectKey(p)}`);
    };

    watch(jobs, {
      onAdd: (j) => queue.add(objectKey(j)),
      onUpdate: (o, j) => {
        if (o.metadata.generation !== j.metadata.generation) queue.add(objectKey(j));
        else queue.addAfter(objectKey(j), batchMs);
        if (isFinished(j)) cleanupPods(j);
      },
      onDelete: (j) => {
        queue.add(objectKey(j));
        cleanupPods(j);
      },
    });
    watch(pods, {
      onAdd: (p) => {
        const job = jobOf(p);
        if (job) {
          if (p.metadata.deletionTimestamp)
            expectations.deletionObserved(objectKey(job), objectKey(p));
          else expectations.creationObserved(objectKey(job));
        }
        podChanged(p, false);
      },
      onUpdate: (o, p) => {
        if (o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        const job = jobOf(p);
        if (job && p.metadata.deletionTimestamp && !o.metadata.deletionTimestamp)
          expectations.deletionObserved(objectKey(job), objectKey(p));
        const oldJob = jobOf(o);
        if (oldJob && oldJob.metadata.uid !== job?.metadata.uid)
          queue.addAfter(objectKey(oldJob), batchMs);
        podChanged(p, false);
      },
      onDelete: (p) => {
        const job = jobOf(p);
        if (job) expectations.deletionObserved(objectKey(job), objectKey(p));
        podChanged(p, true);
      },
    });

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const removeFinalizer = async (pod: Pod) => {
      await ctx.client
        .patch(REFS.pods, pod.metadata?.namespace ?? "", pod.metadata?.name ?? "", "strategic", {
          metadata: { [`$deleteFromPrimitiveList/finalizers`]: [TRACKING_FINALIZER] },
        })
        .catch(ignoreNotFound);
    };
    const event = eventsFor(JOB);

    /** Removes the finalizer of a pod whose Job is gone or finished (kube's syncOrphanPod). */
    const syncOrphanPod = async (key: string) => {
      const { namespace, name } = splitKey(key);
      const pod = pods.get(namespace, name);
      if (!pod || !hasTrackingFinalizer(pod)) return;
      const ref = controllerOf(pod);
      if (ref) {
        if (ref.kind !== "Job" || ref.apiVersion !== "batch/v1") return;
        const job = jobOf(pod);
        if (job && !isFinished(job)) return;
      }
      await removeFinalizer(pod);
    };

    return async (key) => {
      if (key.startsWith(POD_KEY)) return syncOrphanPod(key.slice(POD_KEY.length));
      return reconcileJob(key, {
        getJob: (ns, name) => jobs.get(ns, name),
        listPods: (job) => [
          ...pods.byIndex(CONTROLLER_UID_INDEX, job.metadata?.uid ?? ""),
          ...pods.byIndex(ORPHANS, job.metadata?.namespace ?? ""),
        ],
        adoptPod: async (job, pod) => {
          const owners = [...(pod.metadata?.ownerReferences ?? []), ownerRef(job, JOB)];
          const adopted = typed<Pod>(await patchOwners(ctx.client, REFS.pods, pod, owners));
          if (hasTrackingFinalizer(adopted)) return adopted;
          return typed<Pod>(
            await ctx.client.patch(
              REFS.pods,
              adopted.metadata?.namespace ?? "",
              adopted.metadata?.name ?? "",
              "merge",
              {
                metadata: {
                  finalizers: [...(adopted.metadata?.finalizers ?? []), TRACKING_FINALIZER],
                  resourceVersion: adopted.metadata?.resourceVersion,
                },
              },
            ),
          );
        },
        createPod: async (ns, pod) =>
          typed<Pod>(await ctx.client.create(REFS.pods, ns, asKube(pod))),
        deletePod: async (pod) => {
          await ctx.client
            .delete(REFS.pods, pod.metadata?.namespace ?? "", pod.metadata?.name ?? "", {
              preconditions: { uid: pod.metadata?.uid ?? "" },
            })
            .catch(ignoreNotFound);
        },
        removeFinalizer,
        writeStatus: async (job) =>
          typed<Job>(
            await ctx.client.update(
              sub(REFS.jobs, "status"),
              job.metadata?.namespace ?? "",
              asKube({ ...JOB, ...job }),
            ),
          ),
        event,
        expectations,
        finalizers,
        backoff,
        now,
      });
    };
  },
});
