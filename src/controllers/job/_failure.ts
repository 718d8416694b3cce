/**
 * Pod facts the Job controller reads: when a pod counts as failed (phase Failed; or being deleted
 * before it succeeded, unless only failed pods are replaced), when it finished, and how a failed
 * pod matches the Job's pod failure policy (kube's `matchPodFailurePolicy`: rules in order, the
 * first match decides; exit codes of terminated containers other than 0, or pod conditions).
 *
 * @module
 */
import type { Job } from "kubernetes-types/batch/v1.js";
import type { ContainerStatus, Pod } from "kubernetes-types/core/v1.js";

export type FailureAction = "FailJob" | "FailIndex" | "Ignore" | "Count";

export interface PolicyMatch {
  /** The Job's failure message when a `FailJob` rule matched. */
  failJobMessage?: string;
  /** Whether the failure counts toward backoffLimit (an `Ignore` rule says no). */
  counts: boolean;
  action?: FailureAction;
}

/** Only failed pods are replaced: podReplacementPolicy Failed, or a pod failure policy. */
export function onlyReplaceFailed(job: Job): boolean {
  return job.spec?.podReplacementPolicy === "Failed" || job.spec?.podFailurePolicy !== undefined;
}

export function isPodFailed(pod: Pod, job: Job): boolean {
  const phase = pod.status?.phase;
  if (phase === "Failed") return true;
  if (onlyReplaceFailed(job)) return false;
  // Deleted pods count as failed: an orphan may never get to the Failed phase.
  return pod.metadata?.deletionTimestamp !== undefined && phase !== "Succeeded";
}

/** Running or pending, and not being deleted. */
export function isActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata?.deletionTimestamp;
}

/** Being deleted but not yet terminal (kube's CountTerminatingPods). */
export function isTerminating(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return (
    pod.metadata?.deletionTimestamp !== undefined && phase !== "Failed" && phase !== "Succeeded"
  );
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

const ms = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);

/**
 * When a pod finished: its last container's end, else the time Ready turned False, else its
 * deletion time less the grace period, else its creation.
 */
export function finishedAt(pod: Pod): number {
  const statuses = pod.status?.containerStatuses ?? [];
  let latest: number | undefined;
  for (const s of statuses) {
    const t = ms(s.state?.terminated?.finishedAt);
    if (Number.isNaN(t)) {
      latest = undefined;
      break;
    }
    if (latest === undefined || t > latest) latest = t;
  }
  if (statuses.length > 0 && latest !== undefined) return latest;
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "False" && !Number.isNaN(ms(ready.lastTransitionTime)))
    return ms(ready.lastTransitionTime);
  const deleted = ms(pod.metadata?.deletionTimestamp);
  if (!Number.isNaN(deleted))
    return deleted - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
  return ms(pod.metadata?.creationTimestamp) || 0;
}

function matchingContainer(
  statuses: ContainerStatus[] | undefined,
  req: { containerName?: string; operator: string; values: number[] },
): ContainerStatus | undefined {
  for (const s of statuses ?? []) {
    const code = s.state?.terminated?.exitCode;
    if (code === undefined || code === 0) continue;
    if (req.containerName !== undefined && req.containerName !== s.name) continue;
    const listed = req.values.includes(code);
    if ((req.operator === "In" && listed) || (req.operator === "NotIn" && !listed)) return s;
  }
  return undefined;
}

export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch {
  const rules = job.spec?.podFailurePolicy?.rules;
  if (!rules) return { counts: true };
  const ns = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  for (const [index, rule] of rules.entries()) {
    const action = rule.action as FailureAction;
    let message: string | undefined;
    if (rule.onExitCodes) {
      const c =
        matchingContainer(pod.status?.containerStatuses, rule.onExitCodes) ??
        matchingContainer(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (!c) continue;
      message = `Container ${c.name} for pod ${ns}/${name} failed with exit code ${c.state?.terminated?.exitCode} matching ${action} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const cond = (pod.status?.conditions ?? []).find((pc) =>
        rule.onPodConditions?.some((p) => p.type === pc.type && (p.status ?? "True") === pc.status),
      );
      if (!cond) continue;
      message = `Pod ${ns}/${name} has condition ${cond.type} matching ${action} rule at index ${index}`;
    } else continue;
    switch (action) {
      case "Ignore":
        return { counts: false, action };
      case "FailIndex":
      case "Count":
        return { counts: true, action };
      case "FailJob":
        return { failJobMessage: message, counts: true, action };
    }
  }
  return { counts: true };
}
