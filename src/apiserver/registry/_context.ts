/**
 * What every registry verb needs: the store, the clock and randomness (injected so tests are
 * deterministic), strategy lookup, admission hooks and the patch appliers.
 *
 * @module
 */

import type { FieldError } from "../../api/errors.ts";
import {
  alreadyExists,
  conflict,
  expired,
  internalError,
  notFound,
  StatusError,
} from "../../api/errors.ts";
import type { GroupVersionKind, KubeObject } from "../../api/types.ts";
import type { PatchType, WriteOptions } from "../../api/verbs.ts";
import { type Store, StoreError } from "../../store/types.ts";
import type { Decoder } from "../openapi/index.ts";
import type { ResourceInfo } from "../resources.ts";
import type { StrategyLookup } from "./_strategy.ts";

/** A hook in the write path, as kube-apiserver's admission plugins and REST hooks are. */
export interface Admission {
  /**
   * Called on create after defaulting and validation, before the write. May mutate the object
   * (allocate addresses) and may throw a StatusError. Returns an undo for a failed write.
   */
  create?(info: ResourceInfo, obj: KubeObject, dryRun: boolean): (() => void) | undefined;
  /** Same for update; `old` is the stored object, `subresource` the one written (`status`). */
  update?(
    info: ResourceInfo,
    obj: KubeObject,
    old: KubeObject,
    dryRun: boolean,
    subresource?: string,
  ): (() => void) | undefined;
  /** Called before a delete with the stored object; may throw a StatusError. */
  delete?(info: ResourceInfo, old: KubeObject): void;
  /** Called after an object left the store (release what it held). */
  deleted?(info: ResourceInfo, obj: KubeObject): void;
  /**
   * Called before a create on the asynchronous paths (HTTP and `Registry.create`), with the body
   * as sent: resolves once what `create` needs exists or has been waited for long enough (kube's
   * ServiceAccount admission waits for the `default` account of a new namespace this way).
   * Undefined when there is nothing to wait for, so a create costs no extra turn of the loop.
   */
  ready?(info: ResourceInfo, namespace: string, body: KubeObject): Promise<void> | undefined;
}

/**
 * A `create` on a subresource with its own REST semantics (`serviceaccounts/token`): it gets the
 * body decoded as the subresource's kind and answers with the object to return.
 */
export type SubresourceCreate = (
  ctx: RegistryContext,
  target: { info: ResourceInfo; namespace: string; name: string },
  body: KubeObject,
  options: WriteOptions | undefined,
) => KubeObject;

export interface PatchInput {
  type: PatchType;
  patch: unknown;
  original: KubeObject;
  info: ResourceInfo;
}

export interface ApplyInput {
  live: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  info: ResourceInfo;
  subresource?: string | undefined;
}

/** The patch algorithms, injected so the registry does not care how each is implemented. */
export interface Patchers {
  /** json, merge and strategic patches: returns the patched object (original untouched). */
  patch(input: PatchInput): KubeObject;
  /** Server-side apply: the merged object with its managedFields. */
  apply(input: ApplyInput): KubeObject;
  /** Records an ordinary write's field ownership under `manager` (metadata.managedFields). */
  recordUpdate?(input: {
    live: KubeObject | undefined;
    updated: KubeObject;
    manager: string;
    info: ResourceInfo;
    subresource?: string | undefined;
  }): KubeObject;
}

/** Who makes a request, as AdmissionReview's `userInfo` carries it. */
export interface RequestUser {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The attributes of one write that admission webhooks see (kube's admission.Attributes). */
export interface WriteAttributes {
  operation: "CREATE" | "UPDATE" | "DELETE";
  /** The resource as requested (its version: the object is shown to webhooks in it). */
  info: ResourceInfo;
  subresource: string;
  namespace: string;
  name: string;
  dryRun: boolean;
  user?: RequestUser | undefined;
  /** CreateOptions / UpdateOptions / DeleteOptions as the request had them. */
  options: Record<string, unknown>;
  warn?: ((message: string) => void) | undefined;
}

/**
 * Admission webhooks (see `apiserver/webhooks`): asynchronous, so the registry's asynchronous
 * write paths call them around its synchronous verbs. Objects are in the request's version.
 */
export interface WebhookAdmission {
  /** Whether any webhook's rules cover the request (cheap; selectors are checked later). */
  interested(attrs: WriteAttributes): boolean;
  /** Runs the mutating webhooks; resolves with the object they made (the same when unchanged). */
  mutate(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<KubeObject | undefined>;
  /** Runs the validating webhooks in parallel; rejects with the first refusal. */
  /** Told of every object written on the asynchronous paths (warnings about configurations). */
  written?(attrs: WriteAttributes, obj: KubeObject): void;
  validate(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void>;
}

/**
 * Where a write stops for admission webhooks (internal to the registry): `mutate` sees the
 * object after defaulting and may replace it (kube's mutating admission point), `validate` sees
 * the object about to be stored (kube's validating admission point); either may throw to stop
 * the write. `uid` pins the uid a create gives the object.
 */
export interface AdmitHook {
  mutate?(obj: KubeObject, old: KubeObject | undefined): KubeObject | undefined;
  validate?(obj: KubeObject, old: KubeObject | undefined): void;
  uid?: string;
}

/**
 * Validation of a write in the version the request speaks, for versions served as views (custom
 * resources are validated against the request version's schema, as kube validates them): the
 * errors, with `old` on an update. Given, it replaces the stored version's validation.
 */
export type ValidateAs = (obj: KubeObject, old?: KubeObject) => FieldError[];

export interface RegistryContext {
  store: Store;
  now: () => Date;
  random: () => number;
  uid: () => string;
  strategy: StrategyLookup;
  admission: Admission[];
  patchers: Patchers;
  /**
   * The typed decoder of a kind, which every written body goes through (type checks, unknown
   * fields dropped); undefined (or no decoder for a kind) skips decoding.
   */
  decoder?: (gvk: GroupVersionKind) => Decoder | undefined;
  /** The custom resources served from CustomResourceDefinitions (see `apiserver/crd`). */
  custom?: {
    find(group: string, version: string, resource: string): ResourceInfo | undefined;
    /** Whether the CRD of a custom resource is being deleted (creates are refused then). */
    terminating(info: ResourceInfo): boolean;
  };
  /** Creates on subresources with their own semantics, keyed `<resource>/<subresource>`. */
  creators?: ReadonlyMap<string, SubresourceCreate>;
  /**
   * Converts an object of a kind served in several versions to the version `to` names (see
   * `_view.ts`); throws when it cannot. Undefined: every kind is served in one version only.
   */
  convert?: (obj: KubeObject, to: GroupVersionKind) => KubeObject;
  /** Admission webhooks, called on the asynchronous write paths (see `admitted.ts`). */
  webhooks?: WebhookAdmission;
}

/** Turns a store failure into the Status a client sees, named after the resource. */
export function storeErrorToStatus(e: unknown, info: ResourceInfo, name: string): unknown {
  if (!(e instanceof StoreError)) return e;
  switch (e.code) {
    case "NotFound":
      return notFound(info.resource, info.group, name);
    case "AlreadyExists":
      return alreadyExists(info.resource, info.group, name);
    case "Conflict":
      return conflict(info.resource, info.group, name);
    case "Expired":
      return expired(e.message);
    case "WriteFailed":
      // kube-apiserver answers a write etcd refuses ("mvcc: database space exceeded") with 500
      // and etcd's message; so does loopkube, as InternalError, with what the store could not do.
      return internalError(e.message);
  }
}

/** Runs a store call, rethrowing store failures as Status errors. */
export function storeCall<T>(info: ResourceInfo, name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw storeErrorToStatus(e, info, name);
  }
}

/**
 * Removes an object from the store (compare-and-swap on `expectedRevision`) and tells admission
 * it is gone, so what it held (addresses) is released. Every path that ends an object's life
 * goes through here.
 */
export function removeStored(
  ctx: RegistryContext,
  info: ResourceInfo,
  key: string,
  name: string,
  expectedRevision: number,
): KubeObject {
  const gone = storeCall(info, name, () => ctx.store.delete(key, expectedRevision));
  for (const a of ctx.admission) a.deleted?.(info, gone);
  return gone;
}

export function isStatus(e: unknown): e is StatusError {
  return e instanceof StatusError;
}
