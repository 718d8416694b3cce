/**
 * The verbs of the Kubernetes API as one interface. The API server's registry implements it
 * in-process; the HTTP client implements it over HTTPS from a kubeconfig. Controllers, the node
 * agent, DNS and proxy depend only on this interface (through `client/`), so each of them runs
 * unchanged against our API server or a real one.
 *
 * Errors are thrown as `StatusError` (see `errors.ts`) with the same reason and code the HTTP API
 * returns.
 *
 * @module
 */
import type { KubeList, KubeObject, WatchEvent } from "./types.ts";

/** Which resource a call addresses. `namespace` is ignored for cluster-scoped resources. */
export interface ResourceRef {
  group: string;
  version: string;
  /** Plural lower-case resource name, e.g. `deployments`. */
  resource: string;
  /** `status`, `scale`, `binding`, … */
  subresource?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** `""` (latest), `"0"` (any), or a revision. */
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /**
   * Start with every object as ADDED (then a bookmark marking the end of them, when bookmarks are
   * allowed): client-go's WatchList. Needs `resourceVersionMatch: "NotOlderThan"`.
   */
  sendInitialEvents?: boolean;
  resourceVersionMatch?: string;
}

export interface WriteOptions {
  /** Validate and default but do not persist. */
  dryRun?: boolean;
  fieldManager?: string;
  /**
   * Unknown fields are dropped; `Strict` refuses them instead, `Warn` (the default) also reports
   * each through `warn`, `Ignore` drops them silently.
   */
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  /** Receives the server's warnings (kube's `Warning` response headers) about this write. */
  warn?: (message: string) => void;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the watch ends, for whatever reason (stop, timeout, server close). */
  done: Promise<void>;
}

export interface ApiVerbs {
  get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject>;
  list(ref: ResourceRef, namespace: string, options?: ListOptions): Promise<KubeList>;
  create(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions,
  ): Promise<KubeObject>;
  /** Replace (PUT); `object.metadata.name` names the target. Subresources `status` and `scale` allowed. */
  update(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions,
  ): Promise<KubeObject>;
  patch(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options?: PatchOptions,
  ): Promise<KubeObject>;
  /** Returns the object as it is after the call (with deletionTimestamp if finalizers hold it). */
  delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): Promise<KubeObject>;
  deleteCollection(
    ref: ResourceRef,
    namespace: string,
    options?: ListOptions & DeleteOptions,
  ): Promise<void>;
  /**
   * Watches from `options.resourceVersion`. An expired revision is delivered as an ERROR event
   * whose object is a 410 Status, then the watch ends.
   */
  watch(
    ref: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): WatchHandle;
}
