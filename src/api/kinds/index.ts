/**
 * The strategies of every built-in resource loopkube serves, and their lookup by group and
 * plural resource name. Entry point of `api/kinds`.
 *
 * @module
 */
import {
  validatingAdmissionPolicyBindingStrategy,
  validatingAdmissionPolicyStrategy,
} from "./admissionpolicy.ts";
import { apiServiceStrategy } from "./apiservice.ts";
import { configMapStrategy, secretStrategy, serviceAccountStrategy } from "./config.ts";
import { controllerRevisionStrategy } from "./controllerrevision.ts";
import { cronJobStrategy } from "./cronjob.ts";
import { daemonSetStrategy } from "./daemonset.ts";
import { deploymentStrategy } from "./deployment.ts";
import { endpointsStrategy } from "./endpoints.ts";
import { endpointSliceStrategy } from "./endpointslice.ts";
import { eventStrategy } from "./event.ts";
import { hpaStrategy } from "./hpa.ts";
import { ingressStrategy } from "./ingress.ts";
import { ingressClassStrategy } from "./ingressclass.ts";
import { jobStrategy } from "./job.ts";
import { leaseStrategy } from "./lease.ts";
import { limitRangeStrategy } from "./limitrange.ts";
import { namespaceStrategy } from "./namespace.ts";
import { networkPolicyStrategy } from "./networkpolicy.ts";
import { nodeStrategy } from "./node.ts";
import { podDisruptionBudgetStrategy } from "./pdb.ts";
import { podStrategy } from "./pod.ts";
// scheduling.k8s.io PriorityClass and node.k8s.io RuntimeClass (issue #15, scheduling).
import { priorityClassStrategy } from "./priorityclass.ts";
import {
  clusterRoleBindingStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategy,
} from "./rbac.ts";
import { replicaSetStrategy } from "./replicaset.ts";
import { replicationControllerStrategy } from "./replicationcontroller.ts";
import { resourceQuotaStrategy } from "./resourcequota.ts";
import { runtimeClassStrategy } from "./runtimeclass.ts";
import { serviceStrategy } from "./service.ts";
import { statefulSetStrategy } from "./statefulset.ts";
import {
  persistentVolumeClaimStrategy,
  persistentVolumeStrategy,
  storageClassStrategy,
} from "./storage.ts";
import type { KindStrategy } from "./types.ts";
import {
  mutatingWebhookConfigurationStrategy,
  validatingWebhookConfigurationStrategy,
} from "./webhookconfig.ts";

export { availableCell, LOCAL_AVAILABLE } from "./apiservice.ts";
export { ConversionError, convertObject } from "./conversions.ts";
export { TEMPLATE_GENERATION, templateGeneration } from "./daemonset.ts";
export { DEFAULT_SCALE_DOWN_RULES, DEFAULT_SCALE_UP_RULES, formatHpaTargets } from "./hpa.ts";
export { INGRESS_CLASS_ANNOTATION } from "./ingress.ts";
export { DEFAULT_INGRESS_CLASS_ANNOTATION, isDefaultIngressClass } from "./ingressclass.ts";
export {
  CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  jobStatusCell,
  LEGACY_CONTROLLER_UID_LABEL,
  LEGACY_JOB_NAME_LABEL,
} from "./job.ts";
export {
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
export { defaultPullPolicy } from "./pod_defaults.ts";
export { DISABLED_POD_FIELDS, dropDisabledPodFields } from "./pod_gates.ts";
export { podSummary } from "./pod_printer.ts";
export {
  HIGHEST_USER_DEFINABLE_PRIORITY,
  PREEMPTION_POLICIES,
  SYSTEM_PRIORITY_CLASSES,
} from "./priorityclass.ts";
export { RBAC_GROUP } from "./rbac.ts";
export type { KindStrategy, TableColumn, TableRowCondition } from "./types.ts";

export const kindStrategies: KindStrategy[] = [
  namespaceStrategy,
  podStrategy,
  serviceStrategy,
  endpointsStrategy,
  configMapStrategy,
  secretStrategy,
  serviceAccountStrategy,
  eventStrategy,
  nodeStrategy,
  persistentVolumeClaimStrategy,
  persistentVolumeStrategy,
  deploymentStrategy,
  replicaSetStrategy,
  statefulSetStrategy,
  controllerRevisionStrategy,
  jobStrategy,
  cronJobStrategy,
  endpointSliceStrategy,
  leaseStrategy,
  storageClassStrategy,
  hpaStrategy,
  // networking.k8s.io
  ingressStrategy,
  ingressClassStrategy,
  networkPolicyStrategy,
  priorityClassStrategy,
  runtimeClassStrategy,
  daemonSetStrategy,
  replicationControllerStrategy,
  podDisruptionBudgetStrategy,
  resourceQuotaStrategy,
  limitRangeStrategy,
  mutatingWebhookConfigurationStrategy,
  validatingWebhookConfigurationStrategy,
  validatingAdmissionPolicyStrategy,
  validatingAdmissionPolicyBindingStrategy,
  roleStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  clusterRoleBindingStrategy,
  apiServiceStrategy,
];

const byKey = new Map(kindStrategies.map((s) => [`${s.group}/${s.resource}`, s]));

/** The strategy for `group` (empty for core) and plural `resource`, or undefined. */
export function strategyFor(group: string, resource: string): KindStrategy | undefined {
  return byKey.get(`${group}/${resource}`);
}
