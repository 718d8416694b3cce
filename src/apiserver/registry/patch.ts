/**
 * patch: JSON, merge and strategic patches applied to the stored object, and server-side apply
 * (which creates a missing object). The patched object then takes the same write path as an
 * update, so a patch that changes nothing keeps the resourceVersion. The registry runs
 * synchronously between reading and writing, so no other write can interleave and a patch never
 * needs the conflict retries kube-apiserver does.
 *
 * @module
 */
import { badRequest, notFound, StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { PatchOptions, PatchType } from "../../api/verbs.ts";
import { MAX_OBJECT_DEPTH, nestsDeeper } from "../openapi/index.ts";
import { storeKey } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";
import { checkTypeMeta, decodeBody, kindOf } from "./_prepare.ts";
import type { VersionView } from "./_view.ts";
import { create } from "./create.ts";
import { fromStore } from "./read.ts";
import { type UpdateTarget, writeUpdate } from "./update.ts";

/** kube refuses strategic merge patches on custom resources: they have no patch metadata. */
export function strategicRefused(): StatusError {
  return new StatusError(
    415,
    "UnsupportedMediaType",
    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  );
}

export function patch(
  ctx: RegistryContext,
  target: UpdateTarget,
  type: PatchType,
  body: unknown,
  options: PatchOptions = {},
  view?: VersionView,
): KubeObject {
  const { info, namespace, name } = target;
  if (info.custom && type === "strategic") throw strategicRefused();
  // The version the patch speaks: the stored object is shown in it, the result converted back.
  const shown = view?.info ?? info;
  const fromStorage = view ? view.fromStorage : (o: KubeObject) => o;
  const toStorage = view ? view.toStorage : (o: KubeObject) => o;
  // The patch algorithms recurse over the body; a body no stored object could have is refused.
  if (nestsDeeper(body, MAX_OBJECT_DEPTH)) {
    throw badRequest(`the patch nests deeper than ${MAX_OBJECT_DEPTH} levels`);
  }
  const stored = ctx.store.get(storeKey(info, namespace, name));
  const current = stored && fromStore(ctx, info, stored);
  const validateAs = view?.validateAs;

  if (type === "apply") {
    if (!options.fieldManager) {
      throw badRequest("PATCH requests with apply content type must have a fieldManager");
    }
    const applied = decodeBody(ctx, kindOf(shown), body, options);
    checkTypeMeta(shown, applied);
    if (applied.metadata.name && applied.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    applied.metadata.name = name;
    const merged = toStorage(
      ctx.patchers.apply({
        live: current && fromStorage(current),
        applied,
        manager: options.fieldManager,
        force: options.force === true,
        info: shown,
        subresource: target.subresource,
      }),
    );
    // Apply recorded its own ownership; the write path must not add an Update entry on top.
    const { fieldManager: _applied, ...rest } = options;
    const writeOptions = validateAs ? { ...rest, validateAs } : rest;
    if (!current) {
      if (target.subresource) throw notFound(info.resource, info.group, name);
      return create(ctx, info, namespace, merged, writeOptions);
    }
    delete merged.metadata.resourceVersion;
    return writeUpdate(ctx, target, merged, writeOptions);
  }

  if (!current) throw notFound(info.resource, info.group, name);
  let patched: KubeObject;
  try {
    patched = ctx.patchers.patch({
      type,
      patch: body,
      original: fromStorage(current),
      info: shown,
    });
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest(e instanceof Error ? e.message : String(e));
  }
  patched = decodeBody(ctx, kindOf(shown), patched, options);
  checkTypeMeta(shown, patched);
  patched = toStorage(patched);
  // A resourceVersion the patch sets is a precondition; one it leaves alone is the current one.
  if (!patched.metadata.resourceVersion)
    patched.metadata.resourceVersion = current.metadata.resourceVersion ?? "";
  return writeUpdate(ctx, target, patched, validateAs ? { ...options, validateAs } : options);
}
