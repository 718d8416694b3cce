/**
 * Protobuf field numbers of the autoscaling/v2 messages, in the notation of `_schema.ts`.
 * Message names carry the prefix `AutoscalingV2` where autoscaling/v1 uses the same names.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const AUTOSCALING_V2: SchemaTable = {
  AutoscalingV2HorizontalPodAutoscaler: {
    1: "metadata ObjectMeta",
    2: "spec AutoscalingV2HorizontalPodAutoscalerSpec",
    3: "status AutoscalingV2HorizontalPodAutoscalerStatus",
  },
  AutoscalingV2HorizontalPodAutoscalerSpec: {
    1: "scaleTargetRef AutoscalingV2CrossVersionObjectReference",
    2: "minReplicas int32?",
    3: "maxReplicas int32!",
    4: "metrics []AutoscalingV2MetricSpec",
    5: "behavior AutoscalingV2HorizontalPodAutoscalerBehavior",
  },
  AutoscalingV2HorizontalPodAutoscalerStatus: {
    1: "observedGeneration int64?",
    2: "lastScaleTime Time",
    3: "currentReplicas int32",
    4: "desiredReplicas int32!",
    5: "currentMetrics []AutoscalingV2MetricStatus!",
    6: "conditions []AutoscalingV2HorizontalPodAutoscalerCondition",
  },
  AutoscalingV2CrossVersionObjectReference: {
    1: "kind string!",
    2: "name string!",
    3: "apiVersion string",
  },
  AutoscalingV2MetricSpec: {
    1: "type string!",
    2: "object AutoscalingV2ObjectMetricSource",
    3: "pods AutoscalingV2PodsMetricSource",
    4: "resource AutoscalingV2ResourceMetricSource",
    5: "external AutoscalingV2ExternalMetricSource",
    7: "containerResource AutoscalingV2ContainerResourceMetricSource",
  },
  AutoscalingV2HorizontalPodAutoscalerBehavior: {
    1: "scaleUp AutoscalingV2HPAScalingRules",
    2: "scaleDown AutoscalingV2HPAScalingRules",
  },
  AutoscalingV2MetricStatus: {
    1: "type string!",
    2: "object AutoscalingV2ObjectMetricStatus",
    3: "pods AutoscalingV2PodsMetricStatus",
    4: "resource AutoscalingV2ResourceMetricStatus",
    5: "external AutoscalingV2ExternalMetricStatus",
    7: "containerResource AutoscalingV2ContainerResourceMetricStatus",
  },
  AutoscalingV2HorizontalPodAutoscalerCondition: {
    1: "type string!",
    2: "status string!",
    3: "lastTransitionTime Time",
    4: "reason string",
    5: "message string",
    6: "observedGeneration int64?",
  },
  AutoscalingV2ObjectMetricSource: {
    1: "describedObject AutoscalingV2CrossVersionObjectReference",
    2: "target AutoscalingV2MetricTarget",
    3: "metric AutoscalingV2MetricIdentifier",
  },
  AutoscalingV2PodsMetricSource: {
    1: "metric AutoscalingV2MetricIdentifier",
    2: "target AutoscalingV2MetricTarget",
  },
  AutoscalingV2ResourceMetricSource: {
    1: "name string!",
    2: "target AutoscalingV2MetricTarget",
  },
  AutoscalingV2ContainerResourceMetricSource: {
    1: "name string!",
    2: "target AutoscalingV2MetricTarget",
    3: "container string!",
  },
  AutoscalingV2ExternalMetricSource: {
    1: "metric AutoscalingV2MetricIdentifier",
    2: "target AutoscalingV2MetricTarget",
  },
  AutoscalingV2HPAScalingRules: {
    1: "selectPolicy string?",
    2: "policies []AutoscalingV2HPAScalingPolicy",
    3: "stabilizationWindowSeconds int32?",
    4: "tolerance Quantity",
  },
  AutoscalingV2ObjectMetricStatus: {
    1: "metric AutoscalingV2MetricIdentifier",
    2: "current AutoscalingV2MetricValueStatus",
    3: "describedObject AutoscalingV2CrossVersionObjectReference",
  },
  AutoscalingV2PodsMetricStatus: {
    1: "metric AutoscalingV2MetricIdentifier",
    2: "current AutoscalingV2MetricValueStatus",
  },
  AutoscalingV2ResourceMetricStatus: {
    1: "name string!",
    2: "current AutoscalingV2MetricValueStatus",
  },
  AutoscalingV2ContainerResourceMetricStatus: {
    1: "name string!",
    2: "current AutoscalingV2MetricValueStatus",
    3: "container string!",
  },
  AutoscalingV2ExternalMetricStatus: {
    1: "metric AutoscalingV2MetricIdentifier",
    2: "current AutoscalingV2MetricValueStatus",
  },
  AutoscalingV2MetricTarget: {
    1: "type string!",
    2: "value Quantity",
    3: "averageValue Quantity",
    4: "averageUtilization int32?",
  },
  AutoscalingV2MetricIdentifier: {
    1: "name string!",
    2: "selector LabelSelector",
  },
  AutoscalingV2HPAScalingPolicy: {
    1: "type string!",
    2: "value int32!",
    3: "periodSeconds int32!",
  },
  AutoscalingV2MetricValueStatus: {
    1: "value Quantity",
    2: "averageValue Quantity",
    3: "averageUtilization int32?",
  },
};
