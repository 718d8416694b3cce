/**
 * The shapes every component shares. Typed Kubernetes objects come from `kubernetes-types`
 * (types only, no runtime); the machinery here works on the generic {@link KubeObject} so that
 * one code path serves every kind.
 *
 * @module
 */
import type { ObjectMeta as ReadonlyObjectMeta } from "kubernetes-types/meta/v1.js";

export type { OwnerReference } from "kubernetes-types/meta/v1.js";

/** Removes `readonly` (kubernetes-types marks server-set fields readonly; the server sets them). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** ObjectMeta with every field writable. */
export type ObjectMeta = Mutable<ReadonlyObjectMeta>;

/** Any Kubernetes object: apiVersion, kind and metadata plus kind-specific fields. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A list as the API returns it. Items carry no kind/apiVersion of their own. */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** A group/version/resource triple; the core group is the empty string. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** `apps/v1` for a group, `v1` for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** Splits `apps/v1` into group and version; `v1` is the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return { group: "", version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Namespace/name key used by caches and work queues: `ns/name`, or `name` when cluster-scoped. */
export function objectKey(obj: { metadata?: ObjectMeta | undefined }): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

/** Inverse of {@link objectKey}. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: "", name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** A deep copy through JSON: objects in the API are plain JSON values. */
export function deepCopy<T>(value: T): T {
  return structuredClone(value);
}

/** Views a typed object (kubernetes-types shapes) as a generic KubeObject for the verbs. */
export function asKube<T extends { metadata?: unknown }>(obj: T): KubeObject {
  return obj as unknown as KubeObject;
}

/** Views a generic KubeObject as a typed one; the caller knows the kind. */
export function typed<T>(obj: KubeObject): T {
  return obj as unknown as T;
}
