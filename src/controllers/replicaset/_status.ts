/**
 * A ReplicaSet's status from its active pods, as kube's `calculateStatus`: replicas,
 * fullyLabeledReplicas (pods carrying every template label), readyReplicas, availableReplicas
 * (ready for minReadySeconds), observedGeneration, and the ReplicaFailure condition that reports
 * the last create or delete error and is removed once a sync succeeds.
 *
 * @module
 */

import type {
  ReplicaSet,
  ReplicaSetCondition,
  ReplicaSetStatus,
} from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isAvailable, isReady } from "../_podutil.ts";

export interface ManageError {
  reason: "FailedCreate" | "FailedDelete";
  message: string;
}

function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function replicaSetStatus(
  rs: ReplicaSet,
  pods: readonly Pod[],
  options: { now: number; error?: ManageError | undefined },
): ReplicaSetStatus {
  const templateLabels = Object.entries(rs.spec?.template?.metadata?.labels ?? {});
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    const labels = p.metadata?.labels ?? {};
    if (templateLabels.every(([k, v]) => labels[k] === v)) fully++;
    if (isReady(p)) {
      ready++;
      if (isAvailable(p, minReady, options.now)) available++;
    }
  }
  const others = (rs.status?.conditions ?? []).filter((c) => c.type !== "ReplicaFailure");
  const failure = rs.status?.conditions?.find((c) => c.type === "ReplicaFailure");
  let conditions: ReplicaSetCondition[] = others;
  if (options.error) {
    conditions = [
      ...others,
      failure ?? {
        type: "ReplicaFailure",
        status: "True",
        lastTransitionTime: rfc3339(options.now),
        reason: options.error.reason,
        message: options.error.message,
      },
    ];
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    ...(fully ? { fullyLabeledReplicas: fully } : {}),
    ...(ready ? { readyReplicas: ready } : {}),
    ...(available ? { availableReplicas: available } : {}),
    ...(rs.metadata?.generation !== undefined
      ? { observedGeneration: rs.metadata.generation }
      : {}),
    ...(conditions.length ? { conditions } : {}),
  };
  return status;
}
