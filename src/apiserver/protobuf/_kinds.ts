/**
 * Which kinds the protobuf decoder knows: apiVersion and kind of the `runtime.Unknown` envelope
 * → the message name of its `raw` bytes in the compiled schema. A kind missing here is answered
 * as kube-apiserver answers a kind its scheme does not hold.
 *
 * @module
 */

import { type CompiledSchema, compileSchema } from "./_schema.ts";
import { APPS_V1 } from "./_schema_apps.ts";
import { AUTHENTICATION_V1 } from "./_schema_authentication.ts";
import { AUTHORIZATION_V1 } from "./_schema_authorization.ts";
import { AUTOSCALING_V1 } from "./_schema_autoscaling_v1.ts";
import { AUTOSCALING_V2 } from "./_schema_autoscaling_v2.ts";
import { BATCH_V1 } from "./_schema_batch.ts";
import { CERTIFICATES_V1 } from "./_schema_certificates.ts";
import { CORE_V1 } from "./_schema_core.ts";
import { META_V1 } from "./_schema_meta.ts";
import { NETWORKING_V1 } from "./_schema_networking.ts";
import { POLICY_V1 } from "./_schema_policy.ts";
import { RBAC_V1 } from "./_schema_rbac.ts";
import { SCHEDULING_V1 } from "./_schema_scheduling.ts";

let compiled: CompiledSchema | undefined;

/**
 * The compiled schema of every registered kind, built on the first protobuf body: most clients
 * send JSON, and compiling it at import cost a cluster's every start some 20 ms of CPU.
 */
export function schema(): CompiledSchema {
  compiled ??= compileSchema([
    META_V1,
    CORE_V1,
    APPS_V1,
    BATCH_V1,
    AUTOSCALING_V1,
    AUTOSCALING_V2,
    POLICY_V1,
    NETWORKING_V1,
    SCHEDULING_V1,
    RBAC_V1,
    AUTHENTICATION_V1,
    AUTHORIZATION_V1,
    CERTIFICATES_V1,
  ]);
  return compiled;
}

/** apiVersion → kinds registered for it; a kind's message has its name unless a prefix is given. */
const KINDS: Record<string, { kinds: readonly string[]; prefix?: string }> = {
  v1: {
    kinds: [
      "Binding",
      "ConfigMap",
      "Endpoints",
      "Event",
      "LimitRange",
      "Namespace",
      "PersistentVolumeClaim",
      "Pod",
      "PodTemplate",
      "ReplicationController",
      "ResourceQuota",
      "Secret",
      "Service",
      "ServiceAccount",
    ],
  },
  "apps/v1": {
    kinds: ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
  },
  "batch/v1": { kinds: ["CronJob", "Job"] },
  "autoscaling/v1": { kinds: ["HorizontalPodAutoscaler", "Scale"] },
  "autoscaling/v2": { kinds: ["HorizontalPodAutoscaler"], prefix: "AutoscalingV2" },
  "policy/v1": { kinds: ["Eviction", "PodDisruptionBudget"] },
  "networking.k8s.io/v1": { kinds: ["Ingress", "IngressClass", "NetworkPolicy"] },
  "scheduling.k8s.io/v1": { kinds: ["PriorityClass"] },
  "rbac.authorization.k8s.io/v1": {
    kinds: ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
  },
  "authentication.k8s.io/v1": { kinds: ["SelfSubjectReview", "TokenRequest", "TokenReview"] },
  "authorization.k8s.io/v1": {
    kinds: [
      "LocalSubjectAccessReview",
      "SelfSubjectAccessReview",
      "SelfSubjectRulesReview",
      "SubjectAccessReview",
    ],
  },
  "certificates.k8s.io/v1": { kinds: ["CertificateSigningRequest"] },
};

/** The schema message for a kind, or undefined when it is not registered. */
export function messageOfKind(apiVersion: string, kind: string): string | undefined {
  const group = Object.hasOwn(KINDS, apiVersion) ? KINDS[apiVersion] : undefined;
  if (!group?.kinds.includes(kind)) return undefined;
  return `${group.prefix ?? ""}${kind}`;
}

/** Every registered kind as `{ apiVersion, kind }`, for callers that advertise support. */
export function registeredKinds(): { apiVersion: string; kind: string }[] {
  return Object.entries(KINDS).flatMap(([apiVersion, g]) =>
    g.kinds.map((kind) => ({ apiVersion, kind })),
  );
}
