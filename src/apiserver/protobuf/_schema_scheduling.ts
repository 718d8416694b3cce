/**
 * Protobuf field numbers of the scheduling.k8s.io/v1 messages, in the notation of `_schema.ts`.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const SCHEDULING_V1: SchemaTable = {
  PriorityClass: {
    1: "metadata ObjectMeta",
    2: "value int32!",
    3: "globalDefault bool",
    4: "description string",
    5: "preemptionPolicy string?",
  },
};
