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
import type { Registry } from "./registry/index.ts";

export function createInProcessClient(
  registry: Registry,
  clientOptions: { shareReads?: boolean } = {},
): ApiVerbs {
  const copy = structuredClone;
  const read: <T>(value: T) => T = clientOptions.shareReads ? (v) => v : copy;
  return {
    async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
      return copy(registry.getSync(ref, namespace, name));
    },
    async list(ref: ResourceRef, namespace: string, options?: ListOptions): Promise<KubeList> {
      return read(registry.listSync(ref, namespace, options));
    },
    async create(
      ref: ResourceRef,
      namespace: string,
      object: KubeObject,
      options?: WriteOptions,
    ): Promise<KubeObject> {
      return copy(await registry.create(ref, namespace, object, options));
    },
    async update(
      ref: ResourceRef,
      namespace: string,
      object: KubeObject,
      options?: WriteOptions,
    ): Promise<KubeObject> {
      return copy(await registry.update(ref, namespace, object, options));
    },
    async patch(
      ref: ResourceRef,
      namespace: string,
      name: string,
      type: PatchType,
      patch: unknown,
      options?: PatchOptions,
    ): Promise<KubeObject> {
      return copy(await registry.patch(ref, namespace, name, type, patch, options));
    },
    async delete(
      ref: ResourceRef,
      namespace: string,
      name: string,
      options?: DeleteOptions,
    ): Promise<KubeObject> {
      return copy(await registry.delete(ref, namespace, name, options));
    },
    async deleteCollection(
      ref: ResourceRef,
      namespace: string,
      options?: ListOptions & DeleteOptions,
    ): Promise<void> {
      registry.deleteCollectionSync(ref, namespace, options);
    },
    watch(
      ref: ResourceRef,
      namespace: string,
      options: WatchOptions,
      onEvent: (event: WatchEvent) => void,
    ): WatchHandle {
      // The sink's result is dropped on purpose: an in-process consumer never pauses the watch.
      return registry.watch(ref, namespace, options, (e) => {
        onEvent({ type: e.type, object: read(e.object) });
      });
    },
  };
}
