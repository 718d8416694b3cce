/**
 * Protobuf field numbers of the batch/v1 (k8s.io/api batch/v1) messages, in the notation
 * of `_schema.ts`. Written from the upstream Go types' `protobuf:` and `json:` struct tags (field
 * number, JSON name, pointer or not, `omitempty` or not) as of Kubernetes 1.33 and later; field
 * numbers are never reused upstream, so newer fields are harmless to older clients. Messages are
 * listed as reached from the top-level kinds in `_kinds.ts`.
 *
 * Job's alpha `spec.scheduling` (field 17, whose types live in scheduling/v1alpha3) is left out:
 * it is skipped and reported as an unknown field.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const BATCH_V1: SchemaTable = {
  Job: {
    1: "metadata ObjectMeta",
    2: "spec JobSpec",
    3: "status JobStatus",
  },
  CronJob: {
    1: "metadata ObjectMeta",
    2: "spec CronJobSpec",
    3: "status CronJobStatus",
  },
  JobSpec: {
    1: "parallelism int32?",
    2: "completions int32?",
    3: "activeDeadlineSeconds int64?",
    4: "selector LabelSelector",
    5: "manualSelector bool?",
    6: "template PodTemplateSpec",
    7: "backoffLimit int32?",
    8: "ttlSecondsAfterFinished int32?",
    9: "completionMode string?",
    10: "suspend bool?",
    11: "podFailurePolicy PodFailurePolicy",
    12: "backoffLimitPerIndex int32?",
    13: "maxFailedIndexes int32?",
    14: "podReplacementPolicy string?",
    15: "managedBy string?",
    16: "successPolicy SuccessPolicy",
  },
  JobStatus: {
    1: "conditions []JobCondition",
    2: "startTime Time",
    3: "completionTime Time",
    4: "active int32",
    5: "succeeded int32",
    6: "failed int32",
    7: "completedIndexes string",
    8: "uncountedTerminatedPods UncountedTerminatedPods",
    9: "ready int32?",
    10: "failedIndexes string?",
    11: "terminating int32?",
  },
  CronJobSpec: {
    1: "schedule string!",
    2: "startingDeadlineSeconds int64?",
    3: "concurrencyPolicy string",
    4: "suspend bool?",
    5: "jobTemplate JobTemplateSpec",
    6: "successfulJobsHistoryLimit int32?",
    7: "failedJobsHistoryLimit int32?",
    8: "timeZone string?",
  },
  CronJobStatus: {
    1: "active []ObjectReference",
    4: "lastScheduleTime Time",
    5: "lastSuccessfulTime Time",
  },
  PodFailurePolicy: {
    1: "rules []PodFailurePolicyRule!",
  },
  SuccessPolicy: {
    1: "rules []SuccessPolicyRule!",
  },
  JobCondition: {
    1: "type string!",
    2: "status string!",
    3: "lastProbeTime Time",
    4: "lastTransitionTime Time",
    5: "reason string",
    6: "message string",
  },
  UncountedTerminatedPods: {
    1: "succeeded []string",
    2: "failed []string",
  },
  JobTemplateSpec: {
    1: "metadata ObjectMeta",
    2: "spec JobSpec",
  },
  PodFailurePolicyRule: {
    1: "action string!",
    2: "onExitCodes PodFailurePolicyOnExitCodesRequirement",
    3: "onPodConditions []PodFailurePolicyOnPodConditionsPattern",
  },
  SuccessPolicyRule: {
    1: "succeededIndexes string?",
    2: "succeededCount int32?",
  },
  PodFailurePolicyOnExitCodesRequirement: {
    1: "containerName string?",
    2: "operator string!",
    3: "values []int32!",
  },
  PodFailurePolicyOnPodConditionsPattern: {
    1: "type string!",
    2: "status string!",
  },
};
