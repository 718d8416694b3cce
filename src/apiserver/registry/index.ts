/**
 * The registry: every API verb over the store, for every resource in the resource table. It is
 * the API server's core and implements `ApiVerbs`, so the HTTP layer and the in-process client
 * share one behaviour. Verbs run synchronously against the store between their first read and
 * their write (the Promise wrappers exist only for the interface), so no other write interleaves.
 *
 * Objects returned are the store's shared instances: the HTTP layer serialises them, the
 * in-process client copies them; nothing else may mutate them.
 *
 * @module
 */
import { methodNotAllowed, StatusError } from "../../api/errors.ts";
import type { KubeList, KubeObject } from "../../api/types.ts";
import { apiVersionOf } from "../../api/types.ts";
import type {
  ApiVerbs,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  ResourceRef,
  WatchOptions,
  WriteOptions,
} from "../../api/verbs.ts";
import { findResource, findResourceVersion, type ResourceInfo } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { decodeBody } from "./_prepare.ts";
import { type VersionView, versionView } from "./_view.ts";
import { create } from "./create.ts";
import { del, deleteCollection } from "./delete.ts";
import { patch } from "./patch.ts";
import { get, list } from "./read.ts";
import { getScale, patchScale, updateScale } from "./scale.ts";
import { bindPod, finalizeNamespace } from "./subresources.ts";
import { update } from "./update.ts";
import {
  DEFAULT_WATCH_TUNING,
  type RegistryWatch,
  type WatchSink,
  type WatchTuning,
  watch,
} from "./watch.ts";

export type { Admission, Patchers, RegistryContext, SubresourceCreate } from "./_context.ts";
export { randomSuffix, rfc3339 } from "./_meta.ts";
export { decodeBody, fitForStorage, markDecoded } from "./_prepare.ts";
export { genericStrategy, type StrategyLookup } from "./_strategy.ts";
export { EVICTION_REFUSED, evictPod } from "./eviction.ts";
export type { RegistryWatch, WatchSink, WatchTuning } from "./watch.ts";

/** 404 for a resource the server does not serve, worded as kube-apiserver's. */
export function resourceNotServed(): StatusError {
  return new StatusError(404, "NotFound", "the server could not find the requested resource");
}

/** Subresources whose GET answers the whole object (kube's status and ephemeral containers). */
const WHOLE_OBJECT = new Set(["status", "ephemeralcontainers"]);

export class Registry implements ApiVerbs {
  readonly ctx: RegistryContext;
  readonly watchTuning: WatchTuning;

  constructor(ctx: RegistryContext, watchTuning: WatchTuning = DEFAULT_WATCH_TUNING) {
    this.ctx = ctx;
    this.watchTuning = watchTuning;
  }

  /** The resource table entry a reference names, or 404. */
  resolve(ref: ResourceRef): ResourceInfo {
    const info =
      findResourceVersion(ref.group, ref.version, ref.resource) ??
      this.ctx.custom?.find(ref.group, ref.version, ref.resource);
    if (!info) throw resourceNotServed();
    if (ref.subresource && !info.subresources.some((s) => s.name === ref.subresource))
      throw resourceNotServed();
    return info;
  }

  getSync(ref: ResourceRef, namespace: string, name: string): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    if (ref.subresource === "scale") return getScale(this.ctx, info, ns, name);
    if (ref.subresource && !WHOLE_OBJECT.has(ref.subresource))
      throw methodNotAllowed("GET", `${info.resource}/${ref.subresource}`);
    const view = this.view(info);
    if (view) return view.fromStorage(get(this.ctx, view.storage, ns, name));
    return get(this.ctx, info, ns, name);
  }

  /** How a version served as a view of another converts; undefined for a stored version. */
  private view(info: ResourceInfo): VersionView | undefined {
    return info.storageVersion ? versionView(this.ctx, info) : undefined;
  }

  listSync(ref: ResourceRef, namespace: string, options?: ListOptions): KubeList {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("GET", `${info.resource}/${ref.subresource}`);
    const view = this.view(info);
    if (view) {
      const stored = list(this.ctx, view.storage, info.namespaced ? namespace : "", options);
      return {
        ...stored,
        apiVersion: apiVersionOf(info.group, info.version),
        kind: info.listKind,
        items: stored.items.map(view.fromStorage),
      };
    }
    return list(this.ctx, info, info.namespaced ? namespace : "", options);
  }

  createSync(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & { name?: string },
  ): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    if (info.custom && !ref.subresource && this.ctx.custom?.terminating(info)) {
      throw new StatusError(
        405,
        "MethodNotAllowed",
        "create not allowed while custom resource definition is terminating",
      );
    }
    if (ref.subresource === "binding") {
      return bindPod(
        this.ctx,
        info,
        ns,
        options?.name ?? object.metadata?.name ?? "",
        object,
        options,
      );
    }
    const custom = ref.subresource
      ? this.ctx.creators?.get(`${info.resource}/${ref.subresource}`)
      : undefined;
    if (custom) {
      const kind = info.subresources.find((s) => s.name === ref.subresource)?.kind;
      const body = kind ? decodeBody(this.ctx, kind, object, options) : object;
      const name = options?.name ?? object.metadata?.name ?? "";
      return custom(this.ctx, { info, namespace: ns, name }, body, options);
    }
    if (ref.subresource) throw methodNotAllowed("POST", `${info.resource}/${ref.subresource}`);
    const view = this.view(info);
    if (view) {
      const stored = view.decodeIn(object, options);
      return view.fromStorage(create(this.ctx, view.storage, ns, stored, options));
    }
    return create(this.ctx, info, ns, object, options);
  }

  /**
   * What admission waits for before a create of `object` (see `Admission.ready`), undefined when
   * nothing; the asynchronous create paths await it before `createSync`.
   */
  admissionReady(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
  ): Promise<void> | undefined {
    if (ref.subresource || object === null || typeof object !== "object") return undefined;
    const info = findResource(ref.group, ref.resource);
    if (!info) return undefined;
    const waits: Promise<void>[] = [];
    for (const a of this.ctx.admission) {
      const wait = a.ready?.(info, info.namespaced ? namespace : "", object);
      if (wait !== undefined) waits.push(wait);
    }
    return waits.length > 0 ? Promise.all(waits).then(() => {}) : undefined;
  }

  updateSync(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & { name?: string },
  ): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    const name = options?.name ?? object.metadata?.name ?? "";
    const view = this.view(info);
    if (view && (ref.subresource === undefined || ref.subresource === "status")) {
      const stored = view.decodeIn(object, options);
      const subresource = ref.subresource === "status" ? ("status" as const) : undefined;
      const target = { info: view.storage, namespace: ns, subresource };
      return view.fromStorage(update(this.ctx, target, stored, { ...options, name }));
    }
    switch (ref.subresource) {
      case undefined:
        return update(this.ctx, { info, namespace: ns }, object, { ...options, name });
      case "status":
      case "ephemeralcontainers": {
        const subresource = ref.subresource;
        return update(this.ctx, { info, namespace: ns, subresource }, object, {
          ...options,
          name,
        });
      }
      case "scale":
        return updateScale(this.ctx, info, ns, name, object, options);
      case "finalize":
        return finalizeNamespace(this.ctx, info, name, object, options);
      default:
        throw methodNotAllowed("PUT", `${info.resource}/${ref.subresource}`);
    }
  }

  patchSync(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    body: unknown,
    options?: PatchOptions,
  ): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    const view = this.view(info);
    if (view && (ref.subresource === undefined || ref.subresource === "status")) {
      const subresource = ref.subresource === "status" ? ("status" as const) : undefined;
      const target = { info: view.storage, namespace: ns, name, subresource };
      return view.fromStorage(patch(this.ctx, target, type, body, options, view));
    }
    switch (ref.subresource) {
      case undefined:
        return patch(this.ctx, { info, namespace: ns, name }, type, body, options);
      case "status":
      case "ephemeralcontainers": {
        const subresource = ref.subresource;
        return patch(this.ctx, { info, namespace: ns, name, subresource }, type, body, options);
      }
      case "scale":
        return patchScale(this.ctx, info, ns, name, { type, body }, options);
      default:
        throw methodNotAllowed("PATCH", `${info.resource}/${ref.subresource}`);
    }
  }

  deleteSync(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): KubeObject {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("DELETE", `${info.resource}/${ref.subresource}`);
    const view = this.view(info);
    if (view) {
      return view.fromStorage(
        del(this.ctx, view.storage, info.namespaced ? namespace : "", name, options),
      );
    }
    return del(this.ctx, info, info.namespaced ? namespace : "", name, options);
  }

  deleteCollectionSync(
    ref: ResourceRef,
    namespace: string,
    options?: ListOptions & DeleteOptions,
  ): void {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("DELETE", `${info.resource}/${ref.subresource}`);
    const stored = this.view(info)?.storage ?? info;
    deleteCollection(this.ctx, stored, info.namespaced ? namespace : "", options);
  }

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return this.getSync(ref, namespace, name);
  }

  async list(ref: ResourceRef, namespace: string, options?: ListOptions): Promise<KubeList> {
    return this.listSync(ref, namespace, options);
  }

  async create(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions,
  ): Promise<KubeObject> {
    const wait = this.admissionReady(ref, namespace, object);
    if (wait !== undefined) await wait;
    return this.createSync(ref, namespace, object, options);
  }

  async update(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions,
  ): Promise<KubeObject> {
    return this.updateSync(ref, namespace, object, options);
  }

  async patch(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    body: unknown,
    options?: PatchOptions,
  ): Promise<KubeObject> {
    return this.patchSync(ref, namespace, name, type, body, options);
  }

  async delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): Promise<KubeObject> {
    return this.deleteSync(ref, namespace, name, options);
  }

  async deleteCollection(
    ref: ResourceRef,
    namespace: string,
    options?: ListOptions & DeleteOptions,
  ): Promise<void> {
    this.deleteCollectionSync(ref, namespace, options);
  }

  watch(
    ref: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: WatchSink,
  ): RegistryWatch {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("GET", `${info.resource}/${ref.subresource}`);
    const view = this.view(info);
    const sink: WatchSink = view
      ? (event) => {
          if (event.type === "ERROR") return onEvent(event);
          if (event.type === "BOOKMARK") {
            const apiVersion = apiVersionOf(info.group, info.version);
            return onEvent({ type: event.type, object: { ...event.object, apiVersion } });
          }
          return onEvent({ type: event.type, object: view.fromStorage(event.object) });
        }
      : onEvent;
    return watch(
      this.ctx,
      view?.storage ?? info,
      info.namespaced ? namespace : "",
      options,
      sink,
      this.watchTuning,
    );
  }
}
