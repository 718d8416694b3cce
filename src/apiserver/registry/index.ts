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
import { internalError, methodNotAllowed, StatusError } from "../../api/errors.ts";
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
import { AfterWrite, ConversionPending } from "../crd/index.ts";
import { findResource, findResourceVersion, type ResourceInfo } from "../resources.ts";
import type { AdmitHook, RegistryContext, RequestUser, WriteAttributes } from "./_context.ts";
import { decodeBody } from "./_prepare.ts";
import { type VersionView, versionView } from "./_view.ts";
import { admitted, type VersionShift } from "./admitted.ts";
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

export type {
  Admission,
  Patchers,
  RegistryContext,
  RequestUser,
  SubresourceCreate,
  WebhookAdmission,
  WriteAttributes,
} from "./_context.ts";
export { randomSuffix, rfc3339 } from "./_meta.ts";
export { decodeBody, fitForStorage, markDecoded } from "./_prepare.ts";
export { genericStrategy, type StrategyLookup } from "./_strategy.ts";
export { EVICTION_REFUSED, evictPod } from "./eviction.ts";
export type { RegistryWatch, WatchSink, WatchTuning } from "./watch.ts";

/** A written object shown in the request's version; a conversion still to fetch is AfterWrite. */
function written(view: VersionView, obj: KubeObject): KubeObject {
  try {
    return view.fromStorage(obj);
  } catch (e) {
    if (e instanceof ConversionPending) throw new AfterWrite(e, () => view.fromStorage(obj));
    throw e;
  }
}

/** Most webhook conversions one request waits for in turn (a body in, the result out). */
const MAX_CONVERSION_ROUNDS = 8;

/**
 * Runs a verb until it no longer waits for a webhook conversion: each round fetches the
 * conversions the last one lacked (see `crd/_conversion.ts`).
 */
async function converting<T>(verb: () => T | Promise<T>): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await verb();
    } catch (e) {
      if (e instanceof AfterWrite) {
        await e.pending.resolve();
        return converting(e.finish as () => T);
      }
      if (!(e instanceof ConversionPending) || round >= MAX_CONVERSION_ROUNDS) throw e;
      await e.resolve();
    }
  }
}

/** What a request carries beyond the verb's options: who makes it (for admission webhooks). */
export interface RequestOptions {
  user?: RequestUser | undefined;
  warn?: ((message: string) => void) | undefined;
}

/** kube's warning when a batch/v1 Job delete leaves the propagation to the default. */
export const JOB_ORPHAN_WARNING =
  "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

/**
 * A delete naming no propagation policy gets the kind's default, as kube's strategies give it:
 * batch/v1 Jobs orphan their pods (kept for compatibility, with a warning); every other kind
 * deletes its dependents in the background (the garbage collector's default).
 */
function withDefaultPropagation<T extends DeleteOptions & RequestOptions>(
  info: ResourceInfo,
  options: T | undefined,
): T | undefined {
  if (options?.propagationPolicy || info.group !== "batch" || info.kind !== "Job") return options;
  options?.warn?.(JOB_ORPHAN_WARNING);
  return { ...(options ?? ({} as T)), propagationPolicy: "Orphan" };
}

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
      // Every item's pending webhook conversion at once (see `crd/_conversion.ts`).
      const pending: ConversionPending[] = [];
      const items = stored.items.map((item) => {
        try {
          return view.fromStorage(item);
        } catch (e) {
          if (!(e instanceof ConversionPending)) throw e;
          pending.push(e);
          return item;
        }
      });
      if (pending.length > 0) {
        throw new ConversionPending(async () => {
          await Promise.all(pending.map((p) => p.resolve()));
        });
      }
      return {
        ...stored,
        apiVersion: apiVersionOf(info.group, info.version),
        kind: info.listKind,
        items,
      };
    }
    return list(this.ctx, info, info.namespaced ? namespace : "", options);
  }

  createSync(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & { name?: string; admit?: AdmitHook },
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
      const validateAs = view.validateAs;
      const o = validateAs ? { ...options, validateAs } : options;
      return written(view, create(this.ctx, view.storage, ns, stored, o));
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
    options?: WriteOptions & { name?: string; admit?: AdmitHook },
  ): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    const name = options?.name ?? object.metadata?.name ?? "";
    const view = this.view(info);
    if (view && (ref.subresource === undefined || ref.subresource === "status")) {
      const stored = view.decodeIn(object, options);
      const subresource = ref.subresource === "status" ? ("status" as const) : undefined;
      const target = { info: view.storage, namespace: ns, subresource };
      const validateAs = view.validateAs;
      const o = validateAs ? { ...options, name, validateAs } : { ...options, name };
      return written(view, update(this.ctx, target, stored, o));
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
    options?: PatchOptions & { admit?: AdmitHook },
  ): KubeObject {
    const info = this.resolve(ref);
    const ns = info.namespaced ? namespace : "";
    const view = this.view(info);
    if (view && (ref.subresource === undefined || ref.subresource === "status")) {
      const subresource = ref.subresource === "status" ? ("status" as const) : undefined;
      const target = { info: view.storage, namespace: ns, name, subresource };
      return written(view, patch(this.ctx, target, type, body, options, view));
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
    given?: DeleteOptions & RequestOptions,
  ): KubeObject {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("DELETE", `${info.resource}/${ref.subresource}`);
    const options = withDefaultPropagation(info, given);
    const view = this.view(info);
    if (view) {
      return written(
        view,
        del(this.ctx, view.storage, info.namespaced ? namespace : "", name, options),
      );
    }
    return del(this.ctx, info, info.namespaced ? namespace : "", name, options);
  }

  deleteCollectionSync(
    ref: ResourceRef,
    namespace: string,
    given?: ListOptions & DeleteOptions & RequestOptions,
  ): void {
    const info = this.resolve(ref);
    if (ref.subresource) throw methodNotAllowed("DELETE", `${info.resource}/${ref.subresource}`);
    const options = withDefaultPropagation(info, given);
    const stored = this.view(info)?.storage ?? info;
    deleteCollection(this.ctx, stored, info.namespaced ? namespace : "", options);
  }

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return converting(() => this.getSync(ref, namespace, name));
  }

  async list(ref: ResourceRef, namespace: string, options?: ListOptions): Promise<KubeList> {
    return converting(() => this.listSync(ref, namespace, options));
  }

  /** The attributes admission webhooks see of a write (see `admitted.ts`). */
  private attributes(
    operation: WriteAttributes["operation"],
    ref: ResourceRef,
    namespace: string,
    name: string,
    options: (WriteOptions & RequestOptions) | DeleteOptions | undefined,
  ): { attrs: WriteAttributes; shift: VersionShift | undefined } {
    const info = this.resolve(ref);
    const o = (options ?? {}) as WriteOptions & RequestOptions;
    const kind = { CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions" }[
      operation
    ];
    const sent: Record<string, unknown> = { kind, apiVersion: "meta.k8s.io/v1" };
    if (o.dryRun) sent.dryRun = ["All"];
    if (o.fieldManager) sent.fieldManager = o.fieldManager;
    if (o.fieldValidation) sent.fieldValidation = o.fieldValidation;
    const del = options as DeleteOptions | undefined;
    if (operation === "DELETE") {
      if (del?.propagationPolicy) sent.propagationPolicy = del.propagationPolicy;
      if (del?.gracePeriodSeconds !== undefined) sent.gracePeriodSeconds = del.gracePeriodSeconds;
    }
    const view = this.view(info);
    return {
      attrs: {
        operation,
        info,
        subresource: ref.subresource ?? "",
        namespace: info.namespaced ? namespace : "",
        name,
        dryRun: o.dryRun === true,
        user: o.user,
        options: sent,
        warn: o.warn,
      },
      shift: view && { toRequest: view.fromStorage, toStorage: view.toStorage },
    };
  }

  /** Whether admission webhooks see writes of this reference (the object and its status). */
  private hooked(ref: ResourceRef): boolean {
    return this.ctx.webhooks !== undefined && (!ref.subresource || ref.subresource === "status");
  }

  private async createOnce(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & RequestOptions & { name?: string },
  ): Promise<KubeObject> {
    const wait = this.admissionReady(ref, namespace, object);
    if (wait !== undefined) await wait;
    if (!this.hooked(ref) || ref.subresource)
      return this.createSync(ref, namespace, object, options);
    const name = options?.name ?? object?.metadata?.name ?? "";
    return this.throughWebhooks("CREATE", ref, namespace, name, options, object, (obj, o) =>
      this.createSync(ref, namespace, obj, o),
    );
  }

  private async updateOnce(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & RequestOptions & { name?: string },
  ): Promise<KubeObject> {
    if (!this.hooked(ref)) return this.updateSync(ref, namespace, object, options);
    const name = options?.name ?? object?.metadata?.name ?? "";
    return this.throughWebhooks("UPDATE", ref, namespace, name, options, object, (obj, o) =>
      this.updateSync(ref, namespace, obj, o),
    );
  }

  private async patchOnce(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    body: unknown,
    options?: PatchOptions & RequestOptions,
  ): Promise<KubeObject> {
    if (!this.hooked(ref)) return this.patchSync(ref, namespace, name, type, body, options);
    // An apply that creates the object is a CREATE to admission, as on kube.
    const creates = type === "apply" && !ref.subresource && !this.exists(ref, namespace, name);
    const operation = creates ? "CREATE" : "UPDATE";
    return this.throughWebhooks(operation, ref, namespace, name, options, body, (patch, o) =>
      this.patchSync(ref, namespace, name, type, patch, o),
    );
  }

  /**
   * A synchronous write verb with the webhooks of `operation` around it (admitted.ts): `write`
   * gets the request's body (a copy for each of several passes) and the options with the
   * admission hook of its pass.
   */
  private throughWebhooks<B, O extends WriteOptions & RequestOptions>(
    operation: "CREATE" | "UPDATE",
    ref: ResourceRef,
    namespace: string,
    name: string,
    options: O | undefined,
    body: B,
    write: (body: B, options: (O & { admit?: AdmitHook }) | undefined) => KubeObject,
  ): Promise<KubeObject> {
    const { attrs, shift } = this.attributes(operation, ref, namespace, name, options);
    return this.told(
      attrs,
      admitted(
        this.ctx,
        attrs,
        (admit, copy) =>
          write(copy ? passCopy(body) : body, admit ? { ...(options as O), admit } : options),
        shift,
      ),
    );
  }

  /** Tells the webhooks of a written object once the write is done. */
  private async told(attrs: WriteAttributes, write: Promise<KubeObject>): Promise<KubeObject> {
    const obj = await write;
    this.ctx.webhooks?.written?.(attrs, obj);
    return obj;
  }

  private exists(ref: ResourceRef, namespace: string, name: string): boolean {
    try {
      this.getSync(ref, namespace, name);
      return true;
    } catch {
      return false;
    }
  }

  private async deleteOnce(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options?: DeleteOptions & RequestOptions,
  ): Promise<KubeObject> {
    if (!this.hooked(ref) || ref.subresource) return this.deleteSync(ref, namespace, name, options);
    const { attrs } = this.attributes("DELETE", ref, namespace, name, options);
    const webhooks = this.ctx.webhooks;
    if (webhooks?.interested(attrs)) {
      // kube shows a delete to webhooks with the stored object as oldObject and no object.
      const old = structuredClone(this.getSync(ref, namespace, name));
      await webhooks.mutate(attrs, undefined, old);
      await webhooks.validate(attrs, undefined, old);
    }
    return this.deleteSync(ref, namespace, name, options);
  }

  async create(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & RequestOptions & { name?: string },
  ): Promise<KubeObject> {
    return converting(() => this.createOnce(ref, namespace, object, options));
  }

  async update(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options?: WriteOptions & RequestOptions & { name?: string },
  ): Promise<KubeObject> {
    return converting(() => this.updateOnce(ref, namespace, object, options));
  }

  async patch(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    body: unknown,
    options?: PatchOptions & RequestOptions,
  ): Promise<KubeObject> {
    return converting(() => this.patchOnce(ref, namespace, name, type, body, options));
  }

  async delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options?: DeleteOptions & RequestOptions,
  ): Promise<KubeObject> {
    return converting(() => this.deleteOnce(ref, namespace, name, options));
  }

  async deleteCollection(
    ref: ResourceRef,
    namespace: string,
    options?: ListOptions & DeleteOptions & RequestOptions,
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
    const shown = (event: Parameters<WatchSink>[0]): Parameters<WatchSink>[0] => {
      if (!view || event.type === "ERROR") return event;
      if (event.type === "BOOKMARK") {
        const apiVersion = apiVersionOf(info.group, info.version);
        return { type: event.type, object: { ...event.object, apiVersion } };
      }
      return { type: event.type, object: view.fromStorage(event.object) };
    };
    // Events behind a webhook conversion wait, in order, until it is fetched.
    let backlog: Array<Parameters<WatchSink>[0]> | undefined;
    const drain = async () => {
      while (backlog && backlog.length > 0) {
        const event = backlog[0]!;
        try {
          onEvent(shown(event));
          backlog.shift();
        } catch (e) {
          try {
            if (!(e instanceof ConversionPending)) throw e;
            await e.resolve();
          } catch (failed) {
            // kube ends the event with the conversion's error; the watch goes on.
            const status = failed instanceof StatusError ? failed : internalError(String(failed));
            onEvent({ type: "ERROR", object: status.toStatus() as unknown as KubeObject });
            backlog.shift();
          }
        }
      }
      backlog = undefined;
    };
    const sink: WatchSink = view
      ? (event) => {
          if (backlog) {
            backlog.push(event);
            return undefined;
          }
          try {
            return onEvent(shown(event));
          } catch (e) {
            if (!(e instanceof ConversionPending)) throw e;
            backlog = [event];
            void drain();
            return undefined;
          }
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

/**
 * A request body's copy for one of a webhook-admitted verb's passes. A body nested too deep to
 * copy is passed as it is: the verb's own depth check refuses it (400) before using it.
 */
function passCopy<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch (e) {
    if (e instanceof RangeError) return value;
    throw e;
  }
}
