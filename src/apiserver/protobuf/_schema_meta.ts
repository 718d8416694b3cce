/**
 * Protobuf field numbers of the meta/v1 (k8s.io/apimachinery pkg/apis/meta/v1) messages, in the notation
 * of `_schema.ts`. Written from the upstream Go types' `protobuf:` and `json:` struct tags (field
 * number, JSON name, pointer or not, `omitempty` or not) as of Kubernetes 1.33 and later; field
 * numbers are never reused upstream, so newer fields are harmless to older clients. Messages are
 * listed as reached from the top-level kinds in `_kinds.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const META_V1: SchemaTable = {
  ObjectMeta: {
    1: "name string",
    2: "generateName string",
    3: "namespace string",
    4: "selfLink string",
    5: "uid string",
    6: "resourceVersion string",
    7: "generation int64",
    8: "creationTimestamp Time",
    9: "deletionTimestamp Time",
    10: "deletionGracePeriodSeconds int64?",
    11: "labels map<string>",
    12: "annotations map<string>",
    13: "ownerReferences []OwnerReference",
    14: "finalizers []string",
    17: "managedFields []ManagedFieldsEntry",
  },
  DeleteOptions: {
    1: "gracePeriodSeconds int64?",
    2: "preconditions Preconditions",
    3: "orphanDependents bool?",
    4: "propagationPolicy string?",
    5: "dryRun []string",
    6: "ignoreStoreReadErrorWithClusterBreakingPotential bool?",
  },
  OwnerReference: {
    1: "kind string!",
    3: "name string!",
    4: "uid string!",
    5: "apiVersion string!",
    6: "controller bool?",
    7: "blockOwnerDeletion bool?",
  },
  ManagedFieldsEntry: {
    1: "manager string",
    2: "operation string",
    3: "apiVersion string",
    4: "time Time",
    6: "fieldsType string",
    7: "fieldsV1 fieldsJson",
    8: "subresource string",
  },
  Condition: {
    1: "type string!",
    2: "status string!",
    3: "observedGeneration int64",
    4: "lastTransitionTime Time",
    5: "reason string!",
    6: "message string!",
  },
  LabelSelector: {
    1: "matchLabels map<string>",
    2: "matchExpressions []LabelSelectorRequirement",
  },
  Preconditions: {
    1: "uid string?",
    2: "resourceVersion string?",
  },
  LabelSelectorRequirement: {
    1: "key string!",
    2: "operator string!",
    3: "values []string",
  },
  FieldSelectorRequirement: {
    1: "key string!",
    2: "operator string!",
    3: "values []string",
  },
};
