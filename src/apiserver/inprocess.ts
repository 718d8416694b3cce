/**
 * The in-process client: the registry's verbs with the isolation an HTTP round trip gives for
 * free. Objects passed in are not retained and objects handed out are copies, so a component
 * that mutates what it got back never corrupts the store's shared instances.
 *
 * `shareReads` is for informers only: `list` and `watch` then hand out the store's own objects,
 * not copies, so a cluster keeps one instance of each object instead of one in the store and one
 * in every informer cache, and a write costs no copy per watcher (at 150,000 pods the copies
 * were a fifth of the memory). This is client-go's rule made load-bearing: an informer's objects
 * are never mutated (copy first). A store opened with `freeze` turns a violation into a
 * TypeError; the test suite runs with it (`LOOPKUBE_FREEZE_OBJECTS=1`).
 *
 * `identity` makes the client act as a user, as a component with its own credentials does over
 * HTTP: every call is authorized first by the same authorizer as HTTP requests (RBAC, and the
 * Node authorizer for nodes) and refused with kube's 403, and writes run as that user through
 * admission (escalation checks, NodeRestriction, webhooks' `userInfo`). `user` may be a function
 * of the call, for a node agent that serves several nodes (each call acts as the node it is
 * about). Without `identity` the client is all-powerful (the cluster's own bootstrap writes).
 *
 * @module
 */
import type { KubeList, KubeObject, WatchEvent } from "../api/types.ts";
import type {
  ApiVerbs,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  ResourceRef,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from "../api/verbs.ts";
import type { UserInfo } from "./authn.ts";
import { type Attributes, requestingUser } from "./rbac/index.ts";
import type { Registry } from "./registry/index.ts";

/** A call as the authorizer sees it, with the object a create or update sends. */
export type CallUser = (attributes: Attributes, object: KubeObject | undefined) => UserInfo;

export interface InProcessIdentity {
  user: UserInfo | CallUser;
  /** The API server's authorization: the refusal to throw, or undefined when allowed. */
  authorize(user: UserInfo, attributes: Attributes): Error | undefined;
}

function nameFromFieldSelector(selector: string | undefined): string {
  if (!selector) return "";
  const m = /^metadata\.name(?:==?)(.*)$/.exec(selector.trim());
  return m && !m[1]!.includes(",") ? m[1]! : "";
}

/** The attributes of an in-process call, as `requestAttributes` derives them from a URL. */
export function callAttributes(
  registry: Registry,
  ref: ResourceRef,
  verb: string,
  namespace: string,
  name: string,
): Attributes {
  const info = registry.resolve(ref);
  // A namespace's own requests are in that namespace (kube's RequestInfo).
  const ns =
    info.group === "" && info.resource === "namespaces" ? name : info.namespaced ? namespace : "";
  return {
    verb,
    resourceRequest: true,
    path: "",
    apiGroup: ref.group,
    apiVersion: ref.version,
    resource: ref.resource,
    subresource: ref.subresource ?? "",
    namespace: ns,
    name,
  };
}

export function createInProcessClient(
  registry: Registry,
  clientOptions: { shareReads?: boolean; identity?: InProcessIdentity } = {},
): ApiVerbs {
  const copy = structuredClone;
  const read: <T>(value: T) => T = clientOptions.shareReads ? (v) => v : copy;
  const identity = clientOptions.identity;
  /** Authorizes a call and runs it as its user (undefined: the all-powerful client). */
  const as = <T>(
    ref: ResourceRef,
    verb: string,
    namespace: string,
    name: string,
    object: KubeObject | undefined,
    run: (user: UserInfo | undefined) => T,
  ): T => {
    if (!identity) return run(undefined);
    const attributes = callAttributes(registry, ref, verb, namespace, name);
    const user =
      typeof identity.user === "function" ? identity.user(attributes, object) : identity.user;
    const refusal = identity.authorize(user, attributes);
    if (refusal) throw refusal;
    return requestingUser.run(user, () => run(user));
  };
  const withUser = <O extends object>(options: O | undefined, user: UserInfo | undefined) =>
    user ? { ...options, user } : options;
  return {
    async get(ref, namespace, name): Promise<KubeObject> {
      return as(ref, "get", namespace, name, undefined, () =>
        copy(registry.getSync(ref, namespace, name)),
      );
    },
    async list(ref: ResourceRef, namespace: string, options?: ListOptions): Promise<KubeList> {
      const name = nameFromFieldSelector(options?.fieldSelector);
      return as(ref, "list", namespace, name, undefined, () =>
        read(registry.listSync(ref, namespace, options)),
      );
    },
    async create(
      ref: ResourceRef,
      namespace: string,
      object: KubeObject,
      options?: WriteOptions,
    ): Promise<KubeObject> {
      // kube's create names no object, except a subresource's create (its parent's name).
      const name = ref.subresource ? (object.metadata?.name ?? "") : "";
      return copy(
        await as(ref, "create", namespace, name, object, (user) =>
          registry.create(ref, namespace, object, withUser(options, user)),
        ),
      );
    },
    async update(
      ref: ResourceRef,
      namespace: string,
      object: KubeObject,
      options?: WriteOptions,
    ): Promise<KubeObject> {
      const name = object.metadata?.name ?? "";
      return copy(
        await as(ref, "update", namespace, name, object, (user) =>
          registry.update(ref, namespace, object, withUser(options, user)),
        ),
      );
    },
    async patch(
      ref: ResourceRef,
      namespace: string,
      name: string,
      type: PatchType,
      patch: unknown,
      options?: PatchOptions,
    ): Promise<KubeObject> {
      return copy(
        await as(ref, "patch", namespace, name, undefined, (user) =>
          registry.patch(ref, namespace, name, type, patch, withUser(options, user)),
        ),
      );
    },
    async delete(
      ref: ResourceRef,
      namespace: string,
      name: string,
      options?: DeleteOptions,
    ): Promise<KubeObject> {
      return copy(
        await as(ref, "delete", namespace, name, undefined, (user) =>
          registry.delete(ref, namespace, name, withUser(options, user)),
        ),
      );
    },
    async deleteCollection(
      ref: ResourceRef,
      namespace: string,
      options?: ListOptions & DeleteOptions,
    ): Promise<void> {
      as(ref, "deletecollection", namespace, "", undefined, () =>
        registry.deleteCollectionSync(ref, namespace, options),
      );
    },
    watch(
      ref: ResourceRef,
      namespace: string,
      options: WatchOptions,
      onEvent: (event: WatchEvent) => void,
    ): WatchHandle {
      const name = nameFromFieldSelector(options.fieldSelector);
      // The sink's result is dropped on purpose: an in-process consumer never pauses the watch.
      return as(ref, "watch", namespace, name, undefined, () =>
        registry.watch(ref, namespace, options, (e) => {
          onEvent({ type: e.type, object: read(e.object) });
        }),
      );
    },
  };
}
