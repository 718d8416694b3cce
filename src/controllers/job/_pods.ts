/**
 * The pods a Job creates, as kube's Job controller makes them: the template's labels, annotations
 * and spec, the `batch.kubernetes.io/job-tracking` finalizer and a controller reference; for an
 * Indexed Job the completion index as annotation and label, `JOB_COMPLETION_INDEX` in every
 * container's environment, hostname `<job>-<index>` and generateName `<job>-<index>-`; with
 * backoffLimitPerIndex the index's failure counts carried over from the pod it replaces.
 *
 * @module
 */
import type { Job } from "kubernetes-types/batch/v1.js";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { ownerRef } from "../_owners.ts";
import { isReady, matchPodFailurePolicy } from "./_failure.ts";

export const JOB = { apiVersion: "batch/v1", kind: "Job" } as const;
export const TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
export const INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
export const INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count";
export const INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count";
export const INDEX_ENV = "JOB_COMPLETION_INDEX";

/** apiserver's generated-name limit (63 less the 5-character suffix). */
const MAX_GENERATED_NAME = 58;

export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(TRACKING_FINALIZER) === true;
}

/** The pod's completion index, or -1 when absent or malformed. */
export function completionIndex(pod: Pod): number {
  const v = pod.metadata?.annotations?.[INDEX_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : -1;
}

function annotationCount(pod: Pod, key: string): number {
  const v = pod.metadata?.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  const n = Number(v);
  return n > 2_147_483_647 ? 0 : n;
}

export function indexFailureCount(pod: Pod): number {
  return annotationCount(pod, INDEX_FAILURE_COUNT);
}

export function indexAbsoluteFailureCount(pod: Pod): number {
  return (
    annotationCount(pod, INDEX_FAILURE_COUNT) + annotationCount(pod, INDEX_IGNORED_FAILURE_COUNT)
  );
}

function withIndexEnv(c: Container): Container {
  if (c.env?.some((e) => e.name === INDEX_ENV)) return c;
  return {
    ...c,
    env: [
      ...(c.env ?? []),
      {
        name: INDEX_ENV,
        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${INDEX_ANNOTATION}']` } },
      },
    ],
  };
}

function generateName(job: string, index: number): string {
  if (index < 0) return `${job}-`;
  const suffix = `-${index}-`;
  const prefix = `${job}${suffix}`;
  return prefix.length > MAX_GENERATED_NAME
    ? `${prefix.slice(0, MAX_GENERATED_NAME - suffix.length)}${suffix}`
    : prefix;
}

/** The pod to create for `job` (at `index` for an Indexed Job, else -1). */
export function podForJob(job: Job, index: number, replaces?: Pod): Pod {
  const template = structuredClone(job.spec?.template ?? {});
  const meta = template.metadata ?? {};
  const labels = { ...(meta.labels ?? {}) };
  const annotations = { ...(meta.annotations ?? {}) };
  const spec = template.spec ?? { containers: [] };
  const name = job.metadata?.name ?? "";
  if (index >= 0) {
    annotations[INDEX_ANNOTATION] = String(index);
    labels[INDEX_ANNOTATION] = String(index);
    spec.containers = spec.containers.map(withIndexEnv);
    if (spec.initContainers) spec.initContainers = spec.initContainers.map(withIndexEnv);
    spec.hostname = `${name}-${index}`;
    if (job.spec?.backoffLimitPerIndex !== undefined) {
      let failures = 0;
      let ignored = 0;
      if (replaces) {
        failures = indexFailureCount(replaces);
        ignored = annotationCount(replaces, INDEX_IGNORED_FAILURE_COUNT);
        if (matchPodFailurePolicy(job, replaces).counts) failures++;
        else ignored++;
      }
      annotations[INDEX_FAILURE_COUNT] = String(failures);
      if (ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT] = String(ignored);
    }
  }
  const finalizers = meta.finalizers ?? [];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: generateName(name, index),
      namespace: job.metadata?.namespace ?? "",
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      finalizers: finalizers.includes(TRACKING_FINALIZER)
        ? finalizers
        : [...finalizers, TRACKING_FINALIZER],
      ownerReferences: [ownerRef(job, JOB)],
    },
    spec,
  };
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Active pods in deletion order (kube's ActivePods): unscheduled before scheduled, pending before
 * running, not ready before ready, then the most recently created first.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const scheduled = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (scheduled(a) !== scheduled(b)) return scheduled(a) - scheduled(b);
  const phase = (p: Pod) => PHASE_RANK[p.status?.phase ?? "Pending"] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod) => (isReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? "") || 0;
  return created(b) - created(a);
}

/**
 * The active pods to remove: for an Indexed Job first those without a valid index and all but
 * one of each repeated index; then, in deletion order, enough to remove `atLeast`.
 */
export function podsToRemove(job: Job, active: readonly Pod[], atLeast: number): Pod[] {
  const remove: Pod[] = [];
  let left = [...active];
  if (job.spec?.completionMode === "Indexed") {
    const completions = job.spec.completions ?? 0;
    const byIndex = new Map<number, Pod[]>();
    left = [];
    for (const p of active) {
      const ix = completionIndex(p);
      if (ix < 0 || ix >= completions) remove.push(p);
      else byIndex.set(ix, [...(byIndex.get(ix) ?? []), p]);
    }
    for (const pods of byIndex.values()) {
      const sorted = [...pods].sort(deletionOrder);
      remove.push(...sorted.slice(0, -1));
      left.push(sorted[sorted.length - 1] as Pod);
    }
  }
  if (remove.length < atLeast)
    remove.push(...left.sort(deletionOrder).slice(0, atLeast - remove.length));
  return remove;
}
