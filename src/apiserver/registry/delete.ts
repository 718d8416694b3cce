/**
 * delete and deletecollection. Deletion is immediate unless something must happen first:
 * - finalizers (and the propagation finalizers `foregroundDeletion` / `orphan` that the garbage
 *   collector honours) keep the object with a deletionTimestamp until they are removed;
 * - a scheduled pod is deleted gracefully: it gets a deletionTimestamp `grace` seconds ahead and
 *   the node agent removes it (with gracePeriodSeconds 0) once its containers stopped;
 * - a namespace turns Terminating until the namespace controller emptied and finalized it.
 * A repeated delete of an object already being deleted only shortens a pod's grace period.
 *
 * @module
 */
import { conflict, forbidden, notFound } from "../../api/errors.ts";
import { SYSTEM_PRIORITY_CLASSES } from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { DeleteOptions, ListOptions } from "../../api/verbs.ts";
import { CRD_CLEANUP_FINALIZER, CRD_GROUP, TERMINATING_PENDING } from "../crd/index.ts";
import { type ResourceInfo, storeKey } from "../resources.ts";
import { type RegistryContext, removeStored, storeCall } from "./_context.ts";
import { rfc3339 } from "./_meta.ts";
import { list } from "./read.ts";

/** A grace period whose deadline still is a valid date (about 31,000 years). */
const MAX_GRACE_SECONDS = 1e12;
const IMMORTAL_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);
const SYSTEM_CLASSES = new Set(SYSTEM_PRIORITY_CLASSES.map((c) => c.name));

/** The system PriorityClasses stay, as kube-apiserver's priorityclasses storage keeps them. */
function isSystemPriorityClass(info: ResourceInfo, name: string): boolean {
  return (
    info.group === "scheduling.k8s.io" && info.kind === "PriorityClass" && SYSTEM_CLASSES.has(name)
  );
}

function isCrd(info: ResourceInfo): boolean {
  return info.group === CRD_GROUP && info.kind === "CustomResourceDefinition";
}

/** The condition kube's CRD storage sets on delete, before the finalizing controller starts. */
function markCrdTerminating(crd: KubeObject, now: string): void {
  const status = {
    ...(crd.status as { conditions?: Array<{ type: string; [k: string]: unknown }> } | undefined),
  };
  const conditions = (status.conditions ?? []).filter((c) => c.type !== "Terminating");
  conditions.push({ ...TERMINATING_PENDING, lastTransitionTime: now });
  crd.status = { ...status, conditions };
}

function podGracePeriod(pod: KubeObject, options: DeleteOptions): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
  if (options.gracePeriodSeconds !== undefined)
    return Math.min(Math.max(0, options.gracePeriodSeconds), MAX_GRACE_SECONDS);
  // Stored before grace periods were type-checked: anything but a number is the default 30 s;
  // a negative one is 1 s (kube's delete path).
  const stored = spec.terminationGracePeriodSeconds;
  if (typeof stored !== "number" || !Number.isFinite(stored)) return 30;
  return stored < 0 ? 1 : Math.min(stored, MAX_GRACE_SECONDS);
}

function checkPreconditions(info: ResourceInfo, obj: KubeObject, options: DeleteOptions): void {
  const pre = options.preconditions;
  const name = obj.metadata.name ?? "";
  if (pre?.uid && pre.uid !== obj.metadata.uid) {
    throw conflict(
      info.resource,
      info.group,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid ?? ""}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw conflict(
      info.resource,
      info.group,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion ?? ""}`,
    );
  }
}

export function del(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): KubeObject {
  const key = storeKey(info, namespace, name);
  const old = ctx.store.get(key);
  if (!old) throw notFound(info.resource, info.group, name);
  checkPreconditions(info, old, options);
  for (const a of ctx.admission) a.delete?.(info, old);
  if (info.kind === "Namespace" && IMMORTAL_NAMESPACES.has(name)) {
    throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
  }
  if (isSystemPriorityClass(info, name)) {
    throw forbidden(
      `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`,
    );
  }

  const finalizers = [...(old.metadata.finalizers ?? [])];
  const addFinalizer = (f: string) => {
    if (!finalizers.includes(f)) finalizers.push(f);
  };
  if (options.propagationPolicy === "Foreground") addFinalizer("foregroundDeletion");
  if (options.propagationPolicy === "Orphan") addFinalizer("orphan");
  // kube's CRD storage: the CRD stays, Terminating, until its objects are gone (apiserver/crd).
  const crd = isCrd(info) && !old.metadata.deletionTimestamp;
  if (crd) addFinalizer(CRD_CLEANUP_FINALIZER);

  let grace = 0;
  if (info.kind === "Pod") grace = podGracePeriod(old, options);
  const nsFinalizers =
    info.kind === "Namespace" ? ((old.spec as { finalizers?: string[] })?.finalizers ?? []) : [];

  if (finalizers.length === 0 && grace === 0 && nsFinalizers.length === 0) {
    if (options.dryRun) return old;
    return removeStored(ctx, info, key, name, Number(old.metadata.resourceVersion));
  }

  const next = structuredClone(old);
  const meta = next.metadata;
  const now = ctx.now().getTime();
  if (meta.deletionTimestamp) {
    // Already being deleted: a pod's grace period may only get shorter.
    if (info.kind === "Pod" && grace < (meta.deletionGracePeriodSeconds ?? 0)) {
      meta.deletionGracePeriodSeconds = grace;
      meta.deletionTimestamp = rfc3339(new Date(now + grace * 1000));
    }
  } else {
    meta.deletionTimestamp = rfc3339(new Date(now + grace * 1000));
    meta.deletionGracePeriodSeconds = grace;
  }
  if (finalizers.length > 0) meta.finalizers = finalizers;
  if (info.kind === "Namespace") next.status = { ...(next.status as object), phase: "Terminating" };
  if (crd) markCrdTerminating(next, meta.deletionTimestamp ?? "");
  if (options.dryRun) return next;
  return storeCall(info, name, () =>
    ctx.store.update(key, next, Number(old.metadata.resourceVersion)),
  );
}

export function deleteCollection(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  options: ListOptions & DeleteOptions = {},
): void {
  const items = list(ctx, info, namespace, options).items;
  for (const obj of items) {
    if (isSystemPriorityClass(info, obj.metadata.name ?? "")) continue;
    try {
      del(ctx, info, obj.metadata.namespace ?? "", obj.metadata.name ?? "", options);
    } catch (e) {
      // An object deleted concurrently is already what we wanted.
      if (!(e instanceof Error && "reason" in e && e.reason === "NotFound")) throw e;
    }
  }
}
