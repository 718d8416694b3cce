/**
 * A StatefulSet pod's identity and storage, as kube's `stateful_set_utils.go` defines them: the
 * pod `<set>-<ordinal>` (ordinals from `spec.ordinals.start`), `spec.hostname` = pod name,
 * `spec.subdomain` = `serviceName`, the pod-name / pod-index / revision labels, and one claim
 * `<template>-<set>-<ordinal>` per volumeClaimTemplate, mounted through a `persistentVolumeClaim`
 * volume that replaces any same-named volume. Plus the pod predicates the planner decides on.
 *
 * Everything here is pure: objects in, new objects out, inputs never mutated.
 *
 * @module
 */
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod, Volume } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { ownerRef } from "../_owners.ts";

export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
export const REVISION_LABEL = "controller-revision-hash";

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata?.name ?? ""}-${ordinal}`;
}

/** The ordinal of a pod named `<parent>-<n>`, or undefined when the name has no ordinal. */
export function parentAndOrdinal(pod: Pod): { parent: string; ordinal: number } | undefined {
  const m = /^(.*)-([0-9]+)$/.exec(pod.metadata?.name ?? "");
  if (!m?.[1] || m[2] === undefined) return undefined;
  const ordinal = Number(m[2]);
  return Number.isSafeInteger(ordinal) ? { parent: m[1], ordinal } : undefined;
}

export function ordinalOf(pod: Pod): number {
  return parentAndOrdinal(pod)?.ordinal ?? -1;
}

export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return parentAndOrdinal(pod)?.parent === set.metadata?.name;
}

export function inOrdinalRange(set: StatefulSet, pod: Pod): boolean {
  const o = ordinalOf(pod);
  const start = startOrdinal(set);
  return o >= start && o < start + (set.spec?.replicas ?? 1);
}

export function claimName(set: StatefulSet, template: string, ordinal: number): string {
  return `${template}-${set.metadata?.name ?? ""}-${ordinal}`;
}

export const STATEFULSET = { apiVersion: "apps/v1", kind: "StatefulSet" } as const;

export function controllerRef(set: StatefulSet): OwnerReference {
  return ownerRef(set, STATEFULSET);
}

/** The claims a pod of `set` at `ordinal` mounts, keyed by template name, in template order. */
export function podClaims(set: StatefulSet, ordinal: number): Map<string, PersistentVolumeClaim> {
  const claims = new Map<string, PersistentVolumeClaim>();
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const template = t.metadata?.name ?? "";
    const { status: _status, ...copy } = structuredClone(t);
    const metadata = { ...(copy.metadata ?? {}) };
    metadata.name = claimName(set, template, ordinal);
    if (set.metadata?.namespace !== undefined) metadata.namespace = set.metadata.namespace;
    metadata.labels = { ...(metadata.labels ?? {}), ...selectorLabels };
    claims.set(template, { ...copy, apiVersion: "v1", kind: "PersistentVolumeClaim", metadata });
  }
  return claims;
}

/** Claim volumes first (template order), then the template's other volumes. */
export function withStorage(set: StatefulSet, pod: Pod): Pod {
  const claims = podClaims(set, ordinalOf(pod));
  const volumes: Volume[] = [...claims].map(([name, c]) => ({
    name,
    persistentVolumeClaim: { claimName: c.metadata?.name ?? "" },
  }));
  for (const v of pod.spec?.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  return { ...pod, spec: { containers: [], ...pod.spec, volumes } };
}

export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const [name, claim] of podClaims(set, ordinal)) {
    if (volumes.get(name)?.persistentVolumeClaim?.claimName !== claim.metadata?.name) return false;
  }
  return true;
}

export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const p = parentAndOrdinal(pod);
  const labels = pod.metadata?.labels ?? {};
  return (
    p !== undefined &&
    p.parent === set.metadata?.name &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    labels[POD_NAME_LABEL] === pod.metadata?.name &&
    labels[POD_INDEX_LABEL] === String(p.ordinal)
  );
}

/** The pod's identity labels set again (the only identity fields a live pod lets us change). */
export function withIdentityLabels(pod: Pod): Pod {
  const labels = {
    ...(pod.metadata?.labels ?? {}),
    [POD_NAME_LABEL]: pod.metadata?.name ?? "",
    [POD_INDEX_LABEL]: String(ordinalOf(pod)),
  };
  return { ...pod, metadata: { ...pod.metadata, labels } };
}

/**
 * The pod for `ordinal` from `set`'s template (kube's newStatefulSetPod): template labels,
 * annotations and finalizers, `generateName` `<set>-`, the controller reference, identity and
 * storage, and the revision label.
 */
export function newPod(set: StatefulSet, ordinal: number, revision: string): Pod {
  const template = set.spec?.template;
  const name = podName(set, ordinal);
  const tm = template?.metadata;
  const metadata: Pod["metadata"] & object = {
    name,
    generateName: `${set.metadata?.name ?? ""}-`,
    labels: {
      ...(tm?.labels ?? {}),
      [POD_NAME_LABEL]: name,
      [POD_INDEX_LABEL]: String(ordinal),
      [REVISION_LABEL]: revision,
    },
    ownerReferences: [controllerRef(set)],
  };
  if (set.metadata?.namespace !== undefined) metadata.namespace = set.metadata.namespace;
  if (tm?.annotations) metadata.annotations = { ...tm.annotations };
  if (tm?.finalizers) metadata.finalizers = [...tm.finalizers];
  const spec = structuredClone(template?.spec ?? { containers: [] });
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  return withStorage(set, { apiVersion: "v1", kind: "Pod", metadata, spec });
}

export function podRevision(pod: Pod): string {
  return pod.metadata?.labels?.[REVISION_LABEL] ?? "";
}

// ---- pod predicates (kube's isRunningAndReady, isHealthy, …) ----

export function isTerminating(pod: Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

export function isFailedOrSucceeded(pod: Pod): boolean {
  return pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
}

function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === "Running" && readyCondition(pod)?.status === "True";
}

/** Milliseconds until a ready pod becomes available (0 when it is; Infinity when not ready). */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: Date): number {
  if (!isRunningAndReady(pod)) return Number.POSITIVE_INFINITY;
  if (minReadySeconds <= 0) return 0;
  const since = Date.parse(readyCondition(pod)?.lastTransitionTime ?? "");
  if (Number.isNaN(since)) return minReadySeconds * 1000;
  return Math.max(0, since + minReadySeconds * 1000 - now.getTime());
}

export function isRunningAndAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  return msUntilAvailable(pod, minReadySeconds, now) === 0;
}

export function isHealthy(pod: Pod): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}
