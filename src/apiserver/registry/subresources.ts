/**
 * Subresources with their own semantics: pods/binding (the scheduler's write, which sets
 * spec.nodeName once) and namespaces/finalize (the namespace controller's write of
 * spec.finalizers, after which an emptied, deleted namespace goes away).
 *
 * @module
 */
import { badRequest, conflict, notFound } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { type ResourceInfo, storeKey } from "../resources.ts";
import { type RegistryContext, removeStored, storeCall } from "./_context.ts";
import { rfc3339 } from "./_meta.ts";
import { decodeBody } from "./_prepare.ts";
import { finishesDeletion } from "./update.ts";

export function bindPod(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
  body: KubeObject,
  options?: WriteOptions,
): KubeObject {
  const binding = decodeBody(ctx, { group: "", version: "v1", kind: "Binding" }, body, options);
  const target = (binding as { target?: { name?: string; kind?: string } }).target;
  if (!target?.name) throw badRequest("target.name: Required value");
  const key = storeKey(info, namespace, name);
  const pod = ctx.store.get(key);
  if (!pod) throw notFound(info.resource, info.group, name);
  const spec = (pod.spec ?? {}) as { nodeName?: string };
  if (pod.metadata.deletionTimestamp) {
    throw conflict(
      info.resource,
      info.group,
      name,
      `pod ${name} is being deleted, cannot be assigned to a host`,
    );
  }
  if (spec.nodeName) {
    throw conflict(
      info.resource,
      info.group,
      name,
      `pod ${name} is already assigned to node "${spec.nodeName}"`,
    );
  }
  const next = structuredClone(pod);
  (next.spec as Record<string, unknown>).nodeName = target.name;
  const status = (next.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
  const conditions = (status.conditions ?? []).filter((c) => c.type !== "PodScheduled");
  conditions.push({
    type: "PodScheduled",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: rfc3339(ctx.now()),
  });
  status.conditions = conditions;
  next.status = status;
  if (options?.dryRun) return next;
  storeCall(info, name, () => ctx.store.update(key, next, Number(pod.metadata.resourceVersion)));
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  } as unknown as KubeObject;
}

export function finalizeNamespace(
  ctx: RegistryContext,
  info: ResourceInfo,
  name: string,
  request: KubeObject,
  options?: WriteOptions,
): KubeObject {
  const body = decodeBody(ctx, { group: "", version: "v1", kind: "Namespace" }, request, options);
  const key = storeKey(info, "", name);
  const ns = ctx.store.get(key);
  if (!ns) throw notFound(info.resource, info.group, name);
  const finalizers = (
    (body.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []
  ).slice();
  const next = structuredClone(ns);
  next.spec = { ...(next.spec as object), finalizers };
  if (finalizers.length === 0) delete (next.spec as Record<string, unknown>).finalizers;
  if (options?.dryRun) return next;
  const expected = Number(ns.metadata.resourceVersion);
  // A deleted namespace whose spec finalizers are all gone ends like any finalized object.
  if (finalizers.length === 0 && finishesDeletion(next)) {
    return removeStored(ctx, info, key, name, expected);
  }
  return storeCall(info, name, () => ctx.store.update(key, next, expected));
}
