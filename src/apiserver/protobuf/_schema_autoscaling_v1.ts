/**
 * Protobuf field numbers of the autoscaling/v1 messages, in the notation of `_schema.ts`.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const AUTOSCALING_V1: SchemaTable = {
  HorizontalPodAutoscaler: {
    1: "metadata ObjectMeta",
    2: "spec HorizontalPodAutoscalerSpec",
    3: "status HorizontalPodAutoscalerStatus",
  },
  Scale: {
    1: "metadata ObjectMeta",
    2: "spec ScaleSpec",
    3: "status ScaleStatus",
  },
  HorizontalPodAutoscalerSpec: {
    1: "scaleTargetRef CrossVersionObjectReference",
    2: "minReplicas int32?",
    3: "maxReplicas int32!",
    4: "targetCPUUtilizationPercentage int32?",
  },
  HorizontalPodAutoscalerStatus: {
    1: "observedGeneration int64?",
    2: "lastScaleTime Time",
    3: "currentReplicas int32!",
    4: "desiredReplicas int32!",
    5: "currentCPUUtilizationPercentage int32?",
  },
  ScaleSpec: {
    1: "replicas int32",
  },
  ScaleStatus: {
    1: "replicas int32!",
    2: "selector string",
  },
  CrossVersionObjectReference: {
    1: "kind string!",
    2: "name string!",
    3: "apiVersion string",
  },
};
