/**
 * update (PUT) of an object or its status, and the write path patch shares. What a write may
 * change depends on where it lands: the main resource keeps the stored status (for kinds with a
 * status subresource), the status subresource keeps everything but status. Server-owned metadata
 * (uid, creationTimestamp, deletion fields) always comes from the stored object. A write that
 * changes nothing is not stored and keeps the resourceVersion; a write that removes the last
 * finalizer of an object being deleted removes the object.
 *
 * @module
 */
import { badRequest, conflict, notFound } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { type ResourceInfo, storeKey } from "../resources.ts";
import {
  type AdmitHook,
  type RegistryContext,
  removeStored,
  storeCall,
  type ValidateAs,
} from "./_context.ts";
import { sameObject, specChanged } from "./_meta.ts";
import {
  checkTypeMeta,
  decodeBody,
  fitForStorage,
  kindOf,
  recordOwnership,
  throwIfInvalid,
} from "./_prepare.ts";
import { fromStore } from "./read.ts";

export interface UpdateTarget {
  info: ResourceInfo;
  namespace: string;
  name: string;
  /**
   * `status` writes only status, `ephemeralcontainers` (pods) only `spec.ephemeralContainers`;
   * undefined writes the main resource.
   */
  subresource?: "status" | "ephemeralcontainers" | undefined;
}

/** An object being deleted whose grace period is over and whose last finalizer is gone. */
export function finishesDeletion(obj: KubeObject): boolean {
  const m = obj.metadata;
  return (
    !!m.deletionTimestamp && m.deletionGracePeriodSeconds === 0 && (m.finalizers ?? []).length === 0
  );
}

/** Builds the object to store from the client's object and the stored one. */
function merge(
  ctx: RegistryContext,
  target: UpdateTarget,
  incoming: KubeObject,
  old: KubeObject,
): KubeObject {
  const strategy = ctx.strategy(target.info);
  let next: KubeObject;
  if (target.subresource === "status") {
    // kube's status strategies keep spec and labels from the stored object and take status and
    // the rest of the writable metadata (annotations) from the request.
    next = structuredClone(old);
    if (incoming.status === undefined) delete next.status;
    else next.status = structuredClone(incoming.status);
    if (incoming.metadata.annotations === undefined) delete next.metadata.annotations;
    else next.metadata.annotations = structuredClone(incoming.metadata.annotations);
  } else if (target.subresource === "ephemeralcontainers") {
    // kube's dropNonEphemeralContainerUpdates: the stored pod with the request's list only.
    next = structuredClone(old);
    const spec = (next.spec ?? {}) as Record<string, unknown>;
    const wanted = (incoming.spec as Record<string, unknown> | undefined)?.ephemeralContainers;
    if (wanted === undefined) delete spec.ephemeralContainers;
    else spec.ephemeralContainers = structuredClone(wanted);
    next.spec = spec;
  } else {
    // `incoming` is writeUpdate's own: every caller hands over a fresh object (a decoded body,
    // an apply or scale result), so it becomes the next object without a deep copy.
    next = incoming;
    if (strategy.hasStatus) {
      if (old.status === undefined) delete next.status;
      else next.status = structuredClone(old.status);
    }
  }
  const meta = next.metadata;
  const oldMeta = old.metadata;
  meta.name = oldMeta.name ?? target.name;
  if (target.info.namespaced) meta.namespace = oldMeta.namespace ?? target.namespace;
  else delete meta.namespace;
  if (oldMeta.uid !== undefined) meta.uid = oldMeta.uid;
  if (oldMeta.creationTimestamp !== undefined) meta.creationTimestamp = oldMeta.creationTimestamp;
  if (oldMeta.deletionTimestamp) meta.deletionTimestamp = oldMeta.deletionTimestamp;
  else delete meta.deletionTimestamp;
  if (oldMeta.deletionGracePeriodSeconds !== undefined) {
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else delete meta.deletionGracePeriodSeconds;
  delete (meta as Record<string, unknown>).selfLink;
  if (target.subresource !== "status") strategy.prepareForUpdate?.(next, old);
  if (strategy.hasGeneration) {
    const gen = oldMeta.generation ?? 1;
    const changed = strategy.generationChanged
      ? strategy.generationChanged(next, old)
      : specChanged(old, next);
    meta.generation = target.subresource !== "status" && changed ? gen + 1 : gen;
  } else delete meta.generation;
  return next;
}

/**
 * Stores `incoming` over the current object, checking `expectedRevision` when given (the
 * client's resourceVersion). Returns the stored object (or the unchanged one for a no-op).
 * `incoming` is taken over: it may be changed and stored, so pass an object no one else holds.
 */
export function writeUpdate(
  ctx: RegistryContext,
  target: UpdateTarget,
  incoming: KubeObject,
  options: (WriteOptions & { admit?: AdmitHook; validateAs?: ValidateAs }) | undefined,
): KubeObject {
  const { info, namespace, name } = target;
  const key = storeKey(info, namespace, name);
  const stored = ctx.store.get(key);
  if (!stored) throw notFound(info.resource, info.group, name);
  const old = fromStore(ctx, info, stored);

  const rv = incoming.metadata.resourceVersion;
  if (rv && rv !== old.metadata.resourceVersion) throw conflict(info.resource, info.group, name);

  const strategy = ctx.strategy(info);
  let next = merge(ctx, target, incoming, old);
  strategy.applyDefaults(next);
  const admit = options?.admit;
  const mutated = admit?.mutate?.(next, old);
  if (mutated) {
    // What a webhook may not change (server metadata, status of a main-resource write) is
    // taken from the stored object again.
    next = merge(ctx, target, mutated, old);
    strategy.applyDefaults(next);
  }
  const errors =
    target.subresource === "ephemeralcontainers" && strategy.validateEphemeralContainersUpdate
      ? strategy.validateEphemeralContainersUpdate(next, old)
      : (options?.validateAs?.(next, old) ?? strategy.validateUpdate(next, old));
  throwIfInvalid(strategy, next, errors);

  if (sameObject(next, old)) return old;
  next = recordOwnership(ctx, info, old, next, {
    manager: options?.fieldManager,
    subresource: target.subresource,
  });

  const dryRun = options?.dryRun === true;
  const undo: Array<() => void> = [];
  try {
    for (const a of ctx.admission) {
      const u = a.update?.(info, next, old, dryRun, target.subresource);
      if (u) undo.push(u);
    }
    admit?.validate?.(next, old);
    if (dryRun) return next;
    const expected = Number(old.metadata.resourceVersion);
    if (finishesDeletion(next)) return removeStored(ctx, info, key, name, expected);
    const fit = fitForStorage(next);
    return storeCall(info, name, () => ctx.store.update(key, fit, expected));
  } catch (e) {
    for (const u of undo.reverse()) u();
    throw e;
  }
}

export function update(
  ctx: RegistryContext,
  target: Omit<UpdateTarget, "name">,
  body: unknown,
  options?: WriteOptions & { name?: string; admit?: AdmitHook; validateAs?: ValidateAs },
): KubeObject {
  const obj = decodeBody(ctx, kindOf(target.info), body, options);
  checkTypeMeta(target.info, obj);
  const name = options?.name ?? obj.metadata.name ?? "";
  if (obj.metadata.name && options?.name && obj.metadata.name !== options.name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${options.name})`,
    );
  }
  if (
    target.info.namespaced &&
    obj.metadata.namespace &&
    target.namespace &&
    obj.metadata.namespace !== target.namespace
  ) {
    throw badRequest(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  return writeUpdate(ctx, { ...target, name }, obj, options);
}
