/**
 * ReplicationControllers as ReplicaSets: kube runs the ReplicaSet controller for them
 * (pkg/controller/replication), converting each one into a ReplicaSet whose selector's
 * `matchLabels` is the controller's label map, and owning the pods as the ReplicationController.
 * The status fields are the same on both kinds.
 *
 * @module
 */
import type { ReplicaSet, ReplicaSetStatus } from "kubernetes-types/apps/v1.js";
import type {
  ReplicationController,
  ReplicationControllerStatus,
} from "kubernetes-types/core/v1.js";

export const REPLICATIONCONTROLLER = { apiVersion: "v1", kind: "ReplicationController" } as const;

export function replicaSetOf(rc: ReplicationController): ReplicaSet {
  const spec = rc.spec;
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    ...(rc.metadata ? { metadata: rc.metadata } : {}),
    spec: {
      ...(spec?.replicas !== undefined ? { replicas: spec.replicas } : {}),
      ...(spec?.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
      selector: { matchLabels: { ...(spec?.selector ?? {}) } },
      template: spec?.template ?? {},
    },
    ...(rc.status ? { status: rc.status as ReplicaSetStatus } : {}),
  };
}

export function replicationControllerStatus(status: ReplicaSetStatus): ReplicationControllerStatus {
  return status as ReplicationControllerStatus;
}
