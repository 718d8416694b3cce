/**
 * The scale subresource of deployments, replicasets, statefulsets and replicationcontrollers,
 * answered as an `autoscaling/v1` Scale: spec.replicas from the parent's spec, status.replicas
 * and the selector (as a string) from its status and spec.
 *
 * @module
 */
import { badRequest, notFound } from "../../api/errors.ts";
import { selectorFromLabelSelector, selectorFromSet, selectorToString } from "../../api/labels.ts";
import type { KubeObject } from "../../api/types.ts";
import type { PatchOptions, PatchType, WriteOptions } from "../../api/verbs.ts";
import { MAX_OBJECT_DEPTH, nestsDeeper } from "../openapi/index.ts";
import { type CustomScalePaths, type ResourceInfo, storeKey } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { decodeBody } from "./_prepare.ts";
import { strategicRefused } from "./patch.ts";
import { writeUpdate } from "./update.ts";

const SCALE = { group: "autoscaling", version: "v1", kind: "Scale" };

/** The value at a dotted path (`.spec.replicas`) of a custom resource's scale paths. */
function atPath(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const part of path.split(".").filter(Boolean)) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

function setAtPath(obj: KubeObject, path: string, value: unknown): void {
  const parts = path.split(".").filter(Boolean);
  let v = obj as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    if (v[part] === null || typeof v[part] !== "object") v[part] = {};
    v = v[part] as Record<string, unknown>;
  }
  v[parts[parts.length - 1]!] = value;
}

/** A custom resource's Scale, read through its CRD's `subresources.scale` paths. */
function customScale(obj: KubeObject, paths: CustomScalePaths): KubeObject {
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const selector = paths.labelSelectorPath ? atPath(obj, paths.labelSelectorPath) : undefined;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: scaleMetadata(obj),
    spec: { replicas: num(atPath(obj, paths.specReplicasPath)) },
    status: {
      replicas: num(atPath(obj, paths.statusReplicasPath)),
      ...(typeof selector === "string" && selector ? { selector } : {}),
    },
  };
}

function scaleMetadata(obj: KubeObject): KubeObject["metadata"] {
  const meta = obj.metadata;
  const scaleMeta: KubeObject["metadata"] = {};
  for (const k of ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] as const) {
    if (meta[k] !== undefined) (scaleMeta as Record<string, unknown>)[k] = meta[k];
  }
  return scaleMeta;
}

export function toScale(obj: KubeObject, info?: ResourceInfo): KubeObject {
  const custom = info?.custom?.scale;
  if (custom) return customScale(obj, custom);
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  const scaleMeta = scaleMetadata(obj);
  // A ReplicationController's selector is a plain label map, the others a LabelSelector.
  const selector = !spec.selector
    ? ""
    : obj.kind === "ReplicationController"
      ? selectorToString(selectorFromSet(spec.selector as Record<string, string>))
      : selectorToString(
          selectorFromLabelSelector(
            spec.selector as Parameters<typeof selectorFromLabelSelector>[0],
          ),
        );
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: scaleMeta,
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

function current(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
): KubeObject {
  const obj = ctx.store.get(storeKey(info, namespace, name));
  if (!obj) throw notFound(info.resource, info.group, name);
  return obj;
}

export function getScale(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
): KubeObject {
  return toScale(current(ctx, info, namespace, name), info);
}

export function updateScale(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
  scale: KubeObject,
  options?: WriteOptions,
): KubeObject {
  const obj = current(ctx, info, namespace, name);
  const body = decodeBody(ctx, SCALE, scale, options);
  const replicas = (body.spec as { replicas?: unknown } | undefined)?.replicas;
  if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas))) {
    throw badRequest(`spec.replicas: must be an integer, got ${JSON.stringify(replicas)}`);
  }
  const next = structuredClone(obj);
  const specPath = info.custom?.scale?.specReplicasPath;
  if (specPath) setAtPath(next, specPath, replicas ?? 0);
  else (next.spec as Record<string, unknown>).replicas = replicas ?? 0;
  const rv = body.metadata?.resourceVersion;
  if (rv) next.metadata.resourceVersion = rv;
  return toScale(writeUpdate(ctx, { info, namespace, name }, next, options), info);
}

export function patchScale(
  ctx: RegistryContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
  patch: { type: PatchType; body: unknown },
  options?: PatchOptions,
): KubeObject {
  if (nestsDeeper(patch.body, MAX_OBJECT_DEPTH)) {
    throw badRequest(`the patch nests deeper than ${MAX_OBJECT_DEPTH} levels`);
  }
  if (info.custom && patch.type === "strategic") throw strategicRefused();
  const scale = getScale(ctx, info, namespace, name);
  const scaleInfo = { ...info, group: "autoscaling", version: "v1", kind: "Scale" };
  const patched =
    patch.type === "apply"
      ? ctx.patchers.apply({
          live: scale,
          applied: patch.body as KubeObject,
          manager: options?.fieldManager ?? "",
          force: options?.force === true,
          info: scaleInfo,
        })
      : ctx.patchers.patch({
          type: patch.type,
          patch: patch.body,
          original: scale,
          info: scaleInfo,
        });
  return updateScale(ctx, info, namespace, name, patched, options);
}
