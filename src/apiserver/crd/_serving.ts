/**
 * The live set of custom resources the API server serves, kept from the CRDs in the store, and
 * the work kube's apiextensions controllers do inside kube-apiserver: status conditions
 * (naming and establishing controllers) and, for a deleted CRD, removing every object of it
 * before its `customresourcecleanup` finalizer goes (finalizing controller).
 *
 * Invariant: a resource is served exactly while its CRD is Established (a Terminating CRD
 * stays served, so its objects can be listed and deleted). Lookups are synchronous map reads;
 * the set is rebuilt after each batch of CRD changes, one turn of the event loop after them.
 *
 * @module
 */
import type { KindStrategy } from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { ResourceInfo } from "../resources.ts";
import { desiredStatuses } from "./_conditions.ts";
import { type ConversionCaller, type ConversionConfig, WebhookConverter } from "./_conversion.ts";
import { type JsonSchema, pruneAndDefault } from "./_schema.ts";
import { servedResource, servedStrategy } from "./_served.ts";
import { CRD_CLEANUP_FINALIZER, isEstablished, specOf } from "./_types.ts";
import { compareVersions } from "./_versions.ts";

const CRD_PREFIX = "/apiextensions.k8s.io/customresourcedefinitions/";
const CRD_REF = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
};
/** How soon a cleanup that found objects still finalizing looks again. */
const CLEANUP_RETRY_MS = 500;

/** The verbs the controllers need, implemented by the registry. */
export interface CrdVerbs {
  updateSync(
    ref: { group: string; version: string; resource: string; subresource?: string },
    namespace: string,
    object: KubeObject,
  ): KubeObject;
  listSync(
    ref: { group: string; version: string; resource: string },
    namespace: string,
  ): {
    items: KubeObject[];
  };
  deleteSync(
    ref: { group: string; version: string; resource: string },
    namespace: string,
    name: string,
  ): unknown;
}

interface Served {
  info: ResourceInfo;
  /** Set when the CRD converts through a webhook (`spec.conversion.strategy: Webhook`). */
  conversion?: ConversionConfig;
  strategy: KindStrategy;
  decoder: CustomDecoder;
  schema: JsonSchema | undefined;
  terminating: boolean;
}

/** The webhook a CRD converts through, if its conversion strategy is `Webhook`. */
function webhookConversion(crd: KubeObject): ConversionConfig | undefined {
  const conversion = specOf(crd).conversion as
    | {
        strategy: string;
        webhook?: { clientConfig?: unknown; conversionReviewVersions?: string[] };
      }
    | undefined;
  if (conversion?.strategy !== "Webhook" || !conversion.webhook?.clientConfig) return undefined;
  return {
    clientConfig: conversion.webhook.clientConfig,
    reviewVersions: conversion.webhook.conversionReviewVersions ?? [],
  };
}

/** Prunes what the schema does not declare and reports it (the registry's typed decoder). */
export type CustomDecoder = (obj: Record<string, unknown>) => {
  object: Record<string, unknown>;
  unknown: string[];
};

export class CustomResources {
  #served = new Map<string, Served>(); // group/version/resource
  #byKind = new Map<string, Served>(); // group/version/kind
  #list: ResourceInfo[] = [];
  #store: Store | undefined;
  #verbs: CrdVerbs | undefined;
  #watch: StoreWatch | undefined;
  #pending = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #now: () => Date;
  #listeners = new Set<() => void>();
  #webhooks = new WebhookConverter();

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** The served custom resource `group/version/resource`, if any. */
  find(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.#served.get(`${group}/${version}/${resource}`)?.info;
  }

  /** Any served version of `group/resource` (the first in kube's version priority). */
  findAnyVersion(group: string, resource: string): ResourceInfo | undefined {
    return this.#list.find((r) => r.group === group && r.resource === resource);
  }

  /** The decoder of a served custom kind, for `fieldValidation` (Strict: unknown fields refused). */
  decoder(gvk: { group: string; version: string; kind: string }): CustomDecoder | undefined {
    return this.#byKind.get(`${gvk.group}/${gvk.version}/${gvk.kind}`)?.decoder;
  }

  /**
   * `None` conversion between the served versions of a custom kind: the object with its
   * apiVersion changed; undefined for a kind that is not a served custom resource.
   */
  convert(
    obj: KubeObject,
    to: { group: string; version: string; kind: string },
  ): KubeObject | undefined {
    const served = this.#byKind.get(`${to.group}/${to.version}/${to.kind}`);
    if (!served) return undefined;
    const apiVersion = `${to.group}/${to.version}`;
    if (served.conversion && obj.apiVersion !== apiVersion)
      return this.#webhooks.convert(served.conversion, obj, apiVersion);
    return { ...structuredClone(obj), apiVersion };
  }

  /** How conversion webhooks are called (the API server's webhook client). */
  setConversionCaller(caller: ConversionCaller): void {
    this.#webhooks.setCaller(caller);
  }

  /** Whether the CRD serving `info` is being deleted. */
  terminating(info: ResourceInfo): boolean {
    return this.#served.get(`${info.group}/${info.version}/${info.resource}`)?.terminating === true;
  }

  /** The `openAPIV3Schema` of a served custom resource version. */
  schemaOf(info: ResourceInfo): JsonSchema | undefined {
    return this.#served.get(`${info.group}/${info.version}/${info.resource}`)?.schema;
  }

  strategy(info: ResourceInfo): KindStrategy | undefined {
    return this.#served.get(`${info.group}/${info.version}/${info.resource}`)?.strategy;
  }

  /** Every served custom resource version, for discovery, preferred versions first. */
  resources(): readonly ResourceInfo[] {
    return this.#list;
  }

  /** Called after each change of the served set (OpenAPI caches, tests). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts following the CRDs in `store`, writing their status through `verbs`. */
  start(store: Store, verbs: CrdVerbs): void {
    this.#store = store;
    this.#verbs = verbs;
    const listed = store.list(CRD_PREFIX);
    this.#watch = store.watch(CRD_PREFIX, {
      fromRevision: listed.revision,
      onEvent: () => this.#schedule(),
      onClose: () => this.#restartWatch(),
    });
    this.#sync();
  }

  stop(): void {
    this.#watch?.stop();
    this.#watch = undefined;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #restartWatch(): void {
    if (!this.#store || !this.#verbs) return;
    this.#watch = undefined;
    this.start(this.#store, this.#verbs);
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      if (this.#watch) this.#sync();
    });
  }

  #sync(): void {
    const store = this.#store;
    const verbs = this.#verbs;
    if (!store || !verbs) return;
    let crds = store.list(CRD_PREFIX).items;
    const now = this.#now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
    for (const [name, status] of desiredStatuses(crds, now)) {
      const crd = crds.find((c) => c.metadata.name === name);
      if (!crd) continue;
      try {
        verbs.updateSync({ ...CRD_REF, subresource: "status" }, "", {
          ...structuredClone(crd),
          status,
        });
      } catch {
        // Changed meanwhile: the watch brings the new state and another sync.
      }
    }
    crds = store.list(CRD_PREFIX).items;
    this.#rebuild(crds);
    for (const crd of crds) if (crd.metadata.deletionTimestamp) this.#cleanup(crd);
  }

  #rebuild(crds: readonly KubeObject[]): void {
    const served = new Map<string, Served>();
    const byKind = new Map<string, Served>();
    const list: ResourceInfo[] = [];
    for (const crd of crds) {
      if (!isEstablished(crd)) continue;
      const versions = [...(specOf(crd).versions ?? [])]
        .filter((v) => v.served)
        .sort((a, b) => compareVersions(a.name, b.name));
      for (const version of versions) {
        const info = servedResource(crd, version);
        const schema = version.schema?.openAPIV3Schema as JsonSchema | undefined;
        const conversion = webhookConversion(crd);
        const entry: Served = {
          ...(conversion ? { conversion } : {}),
          info,
          strategy: servedStrategy(crd, version),
          schema,
          terminating: !!crd.metadata.deletionTimestamp,
          decoder: (obj) => {
            const object = structuredClone(obj);
            const unknown: string[] = [];
            pruneAndDefault(object, schema, true, { path: "", out: unknown });
            return { object, unknown };
          },
        };
        served.set(`${info.group}/${info.version}/${info.resource}`, entry);
        byKind.set(`${info.group}/${info.version}/${info.kind}`, entry);
        list.push(info);
      }
    }
    this.#served = served;
    this.#byKind = byKind;
    this.#list = list;
    for (const listener of this.#listeners) listener();
  }

  /** The finalizing controller: delete every object, then drop the finalizer. */
  #cleanup(crd: KubeObject): void {
    const verbs = this.#verbs!;
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const spec = specOf(crd);
    const info = this.findAnyVersion(spec.group, spec.names.plural);
    let remaining = 0;
    if (info) {
      const ref = { group: info.group, version: info.version, resource: info.resource };
      for (const obj of verbs.listSync(ref, "").items) {
        remaining++;
        if (obj.metadata.deletionTimestamp) continue;
        try {
          verbs.deleteSync(ref, obj.metadata.namespace ?? "", obj.metadata.name ?? "");
        } catch {
          // Gone meanwhile, or refused: counted as remaining, retried below.
        }
      }
      remaining = verbs.listSync(ref, "").items.length;
    }
    if (remaining > 0) {
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        if (this.#watch) this.#sync();
      }, CLEANUP_RETRY_MS);
      return;
    }
    const next = structuredClone(crd);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter(
      (f) => f !== CRD_CLEANUP_FINALIZER,
    );
    try {
      verbs.updateSync(CRD_REF, "", next);
    } catch {
      // Changed meanwhile: the next sync tries again.
    }
  }
}
