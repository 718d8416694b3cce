/**
 * create: type checks, generated names, server-set metadata, defaulting, validation, admission
 * (address allocation), then one store write. A refused create stores nothing and releases what
 * admission took.
 *
 * @module
 */
import {
  alreadyExists,
  badRequest,
  fieldInvalid,
  forbidden,
  invalid,
  notFound,
} from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { isDNS1123Subdomain } from "../../api/validation.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { findResource, type ResourceInfo, storeKey } from "../resources.ts";
import { type AdmitHook, type RegistryContext, storeCall, type ValidateAs } from "./_context.ts";
import { randomSuffix, rfc3339 } from "./_meta.ts";
import {
  checkTypeMeta,
  decodeBody,
  fitForStorage,
  kindOf,
  recordOwnership,
  throwIfInvalid,
} from "./_prepare.ts";

const NAMESPACES = findResource("", "namespaces")!;

/** Refuses writes into a namespace that does not exist or is being deleted. */
export function checkNamespace(ctx: RegistryContext, info: ResourceInfo, namespace: string): void {
  if (!info.namespaced) return;
  if (!namespace)
    throw badRequest("the server could not find the requested resource: a namespace is required");
  const ns = ctx.store.get(storeKey(NAMESPACES, "", namespace));
  if (!ns) throw notFound("namespaces", "", namespace);
  if (ns.metadata.deletionTimestamp) {
    throw forbidden(
      `${info.resource} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    );
  }
}

export function create(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  body: unknown,
  options?: WriteOptions & { admit?: AdmitHook; validateAs?: ValidateAs },
): KubeObject {
  const decoded = decodeBody(ctx, kindOf(info), body, options);
  checkTypeMeta(info, decoded);
  let obj: KubeObject = decoded;
  const strategy = ctx.strategy(info);
  const admit = options?.admit;
  if (admit?.mutate) {
    // kube's mutating admission sees the decoded, defaulted object before the server's metadata.
    if (info.namespaced) obj.metadata.namespace = namespace || obj.metadata.namespace || "";
    strategy.applyDefaults(obj);
    obj = admit.mutate(obj, undefined) ?? obj;
  }
  const meta = obj.metadata;

  if (info.namespaced) {
    if (meta.namespace && namespace && meta.namespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    meta.namespace = namespace || meta.namespace || "";
  } else {
    delete meta.namespace;
  }

  if (!meta.name && meta.generateName) {
    const errs = isDNS1123Subdomain(meta.generateName.replace(/-$/, "x"));
    if (errs.length > 0) {
      throw invalid(
        info.kind,
        info.group,
        "",
        errs.map((m) => fieldInvalid("metadata.generateName", meta.generateName, m)),
      );
    }
    meta.name = `${meta.generateName}${randomSuffix(ctx.random)}`;
  }

  const now = ctx.now();
  meta.uid = admit?.uid ?? ctx.uid();
  meta.creationTimestamp = rfc3339(now);
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete (meta as Record<string, unknown>).selfLink;
  if (strategy.hasGeneration) meta.generation = 1;
  else delete meta.generation;

  strategy.applyDefaults(obj);
  strategy.prepareForCreate?.(obj);
  throwIfInvalid(strategy, obj, options?.validateAs?.(obj) ?? strategy.validate(obj));
  checkNamespace(ctx, info, meta.namespace ?? "");

  const name = meta.name ?? "";
  const key = storeKey(info, meta.namespace ?? "", name);
  if (ctx.store.get(key)) throw alreadyExists(info.resource, info.group, name);

  const dryRun = options?.dryRun === true;
  const undo: Array<() => void> = [];
  try {
    for (const a of ctx.admission) {
      const u = a.create?.(info, obj, dryRun);
      if (u) undo.push(u);
    }
    obj = recordOwnership(ctx, info, undefined, obj, { manager: options?.fieldManager });
    admit?.validate?.(obj, undefined);
    if (dryRun) return obj;
    const stored = fitForStorage(obj);
    return storeCall(info, name, () => ctx.store.create(key, stored));
  } catch (e) {
    for (const u of undo.reverse()) u();
    throw e;
  }
}
