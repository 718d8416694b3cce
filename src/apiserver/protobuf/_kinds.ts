/**
 * Which kinds the protobuf decoder knows: apiVersion and kind of the `runtime.Unknown` envelope
 * → the message name of its `raw` bytes in the compiled schema. A kind missing here is answered
 * as kube-apiserver answers a kind its scheme does not hold.
 *
 * @module
 */

import { type CompiledSchema, compileSchema } from "./_schema.ts";
import { APPS_V1 } from "./_schema_apps.ts";
import { BATCH_V1 } from "./_schema_batch.ts";
import { CORE_V1 } from "./_schema_core.ts";
import { META_V1 } from "./_schema_meta.ts";

export const SCHEMA: CompiledSchema = compileSchema([META_V1, CORE_V1, APPS_V1, BATCH_V1]);

/** apiVersion → the kinds registered for it (each kind's message has the kind's name). */
const KINDS: Record<string, readonly string[]> = {
  v1: [
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
  "apps/v1": ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
  "batch/v1": ["CronJob", "Job"],
};

/** The schema message for a kind, or undefined when it is not registered. */
export function messageOfKind(apiVersion: string, kind: string): string | undefined {
  return KINDS[apiVersion]?.includes(kind) ? kind : undefined;
}

/** Every registered kind as `{ apiVersion, kind }`, for callers that advertise support. */
export function registeredKinds(): { apiVersion: string; kind: string }[] {
  return Object.entries(KINDS).flatMap(([apiVersion, kinds]) =>
    kinds.map((kind) => ({ apiVersion, kind })),
  );
}
