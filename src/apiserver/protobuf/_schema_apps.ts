/**
 * Protobuf field numbers of the apps/v1 (k8s.io/api apps/v1) messages, in the notation
 * of `_schema.ts`. Written from the upstream Go types' `protobuf:` and `json:` struct tags (field
 * number, JSON name, pointer or not, `omitempty` or not) as of Kubernetes 1.33 and later; field
 * numbers are never reused upstream, so newer fields are harmless to older clients. Messages are
 * listed as reached from the top-level kinds in `_kinds.ts`.
 *
 * @module
 */
import type { SchemaTable } from "./_schema.ts";

export const APPS_V1: SchemaTable = {
  Deployment: {
    1: "metadata ObjectMeta",
    2: "spec DeploymentSpec",
    3: "status DeploymentStatus",
  },
  ReplicaSet: {
    1: "metadata ObjectMeta",
    2: "spec ReplicaSetSpec",
    3: "status ReplicaSetStatus",
  },
  StatefulSet: {
    1: "metadata ObjectMeta",
    2: "spec StatefulSetSpec",
    3: "status StatefulSetStatus",
  },
  DaemonSet: {
    1: "metadata ObjectMeta",
    2: "spec DaemonSetSpec",
    3: "status DaemonSetStatus",
  },
  ControllerRevision: {
    1: "metadata ObjectMeta",
    2: "data json",
    3: "revision int64!",
  },
  DeploymentSpec: {
    1: "replicas int32?",
    2: "selector LabelSelector",
    3: "template PodTemplateSpec",
    4: "strategy DeploymentStrategy",
    5: "minReadySeconds int32",
    6: "revisionHistoryLimit int32?",
    7: "paused bool",
    9: "progressDeadlineSeconds int32?",
  },
  DeploymentStatus: {
    1: "observedGeneration int64",
    2: "replicas int32",
    3: "updatedReplicas int32",
    4: "availableReplicas int32",
    5: "unavailableReplicas int32",
    6: "conditions []DeploymentCondition",
    7: "readyReplicas int32",
    8: "collisionCount int32?",
    9: "terminatingReplicas int32?",
  },
  ReplicaSetSpec: {
    1: "replicas int32?",
    2: "selector LabelSelector",
    3: "template PodTemplateSpec",
    4: "minReadySeconds int32",
  },
  ReplicaSetStatus: {
    1: "replicas int32!",
    2: "fullyLabeledReplicas int32",
    3: "observedGeneration int64",
    4: "readyReplicas int32",
    5: "availableReplicas int32",
    6: "conditions []ReplicaSetCondition",
    7: "terminatingReplicas int32?",
  },
  StatefulSetSpec: {
    1: "replicas int32?",
    2: "selector LabelSelector",
    3: "template PodTemplateSpec",
    4: "volumeClaimTemplates []PersistentVolumeClaim",
    5: "serviceName string!",
    6: "podManagementPolicy string",
    7: "updateStrategy StatefulSetUpdateStrategy",
    8: "revisionHistoryLimit int32?",
    9: "minReadySeconds int32",
    10: "persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy",
    11: "ordinals StatefulSetOrdinals",
  },
  StatefulSetStatus: {
    1: "observedGeneration int64",
    2: "replicas int32!",
    3: "readyReplicas int32",
    4: "currentReplicas int32",
    5: "updatedReplicas int32",
    6: "currentRevision string",
    7: "updateRevision string",
    9: "collisionCount int32?",
    10: "conditions []StatefulSetCondition",
    11: "availableReplicas int32!",
  },
  DaemonSetSpec: {
    1: "selector LabelSelector",
    2: "template PodTemplateSpec",
    3: "updateStrategy DaemonSetUpdateStrategy",
    4: "minReadySeconds int32",
    6: "revisionHistoryLimit int32?",
  },
  DaemonSetStatus: {
    1: "currentNumberScheduled int32!",
    2: "numberMisscheduled int32!",
    3: "desiredNumberScheduled int32!",
    4: "numberReady int32!",
    5: "observedGeneration int64",
    6: "updatedNumberScheduled int32",
    7: "numberAvailable int32",
    8: "numberUnavailable int32",
    9: "collisionCount int32?",
    10: "conditions []DaemonSetCondition",
  },
  DeploymentStrategy: {
    1: "type string",
    2: "rollingUpdate RollingUpdateDeployment",
  },
  DeploymentCondition: {
    1: "type string!",
    2: "status string!",
    4: "reason string",
    5: "message string",
    6: "lastUpdateTime Time",
    7: "lastTransitionTime Time",
  },
  ReplicaSetCondition: {
    1: "type string!",
    2: "status string!",
    3: "lastTransitionTime Time",
    4: "reason string",
    5: "message string",
  },
  StatefulSetUpdateStrategy: {
    1: "type string",
    2: "rollingUpdate RollingUpdateStatefulSetStrategy",
  },
  StatefulSetPersistentVolumeClaimRetentionPolicy: {
    1: "whenDeleted string",
    2: "whenScaled string",
  },
  StatefulSetOrdinals: {
    1: "start int32!",
  },
  StatefulSetCondition: {
    1: "type string!",
    2: "status string!",
    3: "lastTransitionTime Time",
    4: "reason string",
    5: "message string",
  },
  DaemonSetUpdateStrategy: {
    1: "type string",
    2: "rollingUpdate RollingUpdateDaemonSet",
  },
  DaemonSetCondition: {
    1: "type string!",
    2: "status string!",
    3: "lastTransitionTime Time",
    4: "reason string",
    5: "message string",
  },
  RollingUpdateDeployment: {
    1: "maxUnavailable IntOrString",
    2: "maxSurge IntOrString",
  },
  RollingUpdateStatefulSetStrategy: {
    1: "partition int32?",
    2: "maxUnavailable IntOrString",
  },
  RollingUpdateDaemonSet: {
    1: "maxUnavailable IntOrString",
    2: "maxSurge IntOrString",
  },
};
