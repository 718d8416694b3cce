/**
 * Protobuf field numbers of the policy/v1 messages, in the notation of `_schema.ts`.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const POLICY_V1: SchemaTable = {
  PodDisruptionBudget: {
    1: "metadata ObjectMeta",
    2: "spec PodDisruptionBudgetSpec",
    3: "status PodDisruptionBudgetStatus",
  },
  Eviction: {
    1: "metadata ObjectMeta",
    2: "deleteOptions DeleteOptions",
  },
  PodDisruptionBudgetSpec: {
    1: "minAvailable IntOrString",
    2: "selector LabelSelector",
    3: "maxUnavailable IntOrString",
    4: "unhealthyPodEvictionPolicy string?",
  },
  PodDisruptionBudgetStatus: {
    1: "observedGeneration int64",
    2: "disruptedPods map<Time>",
    3: "disruptionsAllowed int32!",
    4: "currentHealthy int32!",
    5: "desiredHealthy int32!",
    6: "expectedPods int32!",
    7: "conditions []Condition",
  },
};
