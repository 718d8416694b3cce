/**
 * Protobuf field numbers of the rbac.authorization.k8s.io/v1 messages, in the notation of `_schema.ts`.
 * Same provenance and rules as `_schema_core.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const RBAC_V1: SchemaTable = {
  Role: {
    1: "metadata ObjectMeta",
    2: "rules []PolicyRule!",
  },
  ClusterRole: {
    1: "metadata ObjectMeta",
    2: "rules []PolicyRule!",
    3: "aggregationRule AggregationRule",
  },
  RoleBinding: {
    1: "metadata ObjectMeta",
    2: "subjects []Subject",
    3: "roleRef RoleRef",
  },
  ClusterRoleBinding: {
    1: "metadata ObjectMeta",
    2: "subjects []Subject",
    3: "roleRef RoleRef",
  },
  PolicyRule: {
    1: "verbs []string!",
    2: "apiGroups []string",
    3: "resources []string",
    4: "resourceNames []string",
    5: "nonResourceURLs []string",
  },
  AggregationRule: {
    1: "clusterRoleSelectors []LabelSelector",
  },
  Subject: {
    1: "kind string!",
    2: "apiGroup string",
    3: "name string!",
    4: "namespace string",
  },
  RoleRef: {
    1: "apiGroup string!",
    2: "kind string!",
    3: "name string!",
  },
};
