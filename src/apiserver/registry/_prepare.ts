/**
 * The steps create and update share: type checks against the URL, strict field validation, kind
 * validation, and recording the writer's field ownership.
 *
 * @module
 */
import { badRequest, invalid, StatusError } from "../../api/errors.ts";
import type { KindStrategy } from "../../api/kinds/types.ts";
import { apiVersionOf, type KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { strictDecodingMessage } from "../openapi/index.ts";
import type { ResourceInfo } from "../resources.ts";
import type { RegistryContext } from "./_context.ts";

/** Refuses a body that is not an object of this resource's kind, then stamps apiVersion/kind. */
export function checkTypeMeta(info: ResourceInfo, obj: unknown): asserts obj is KubeObject {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw badRequest("the body of the request was not a JSON object");
  }
  const o = obj as KubeObject;
  const want = apiVersionOf(info.group, info.version);
  if (o.apiVersion !== undefined && o.apiVersion !== want) {
    throw badRequest(
      `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${want})`,
    );
  }
  if (o.kind !== undefined && o.kind !== info.kind) {
    throw badRequest(
      `the kind in the data (${String(o.kind)}) does not match the expected kind (${info.kind})`,
    );
  }
  if (o.metadata === undefined || o.metadata === null) o.metadata = {};
  if (typeof o.metadata !== "object" || Array.isArray(o.metadata)) {
    throw badRequest("metadata must be an object");
  }
  o.apiVersion = want;
  o.kind = info.kind;
}

/** Rejects unknown fields when the client asked for strict validation. */
export function checkUnknownFields(
  ctx: RegistryContext,
  info: ResourceInfo,
  obj: KubeObject,
  options: WriteOptions | undefined,
): void {
  if (options?.fieldValidation !== "Strict" || !ctx.unknownFields) return;
  const unknown = ctx.unknownFields(info, obj);
  if (unknown.length === 0) return;
  throw badRequest(
    strictDecodingMessage({ group: info.group, version: info.version, kind: info.kind }, unknown),
  );
}

export function throwIfInvalid(
  strategy: KindStrategy,
  obj: KubeObject,
  errors: ReturnType<KindStrategy["validate"]>,
): void {
  if (errors.length > 0) {
    throw invalid(strategy.kind, strategy.group, obj.metadata.name ?? "", errors);
  }
}

export function asStatusError(e: unknown): StatusError | undefined {
  return e instanceof StatusError ? e : undefined;
}

/** Records field ownership for a write that names its field manager (kubectl always does). */
export function recordOwnership(
  ctx: RegistryContext,
  info: ResourceInfo,
  live: KubeObject | undefined,
  updated: KubeObject,
  options: { manager?: string | undefined; subresource?: string | undefined },
): KubeObject {
  if (!options.manager || !ctx.patchers.recordUpdate) return updated;
  return ctx.patchers.recordUpdate({
    live,
    updated,
    manager: options.manager,
    info,
    subresource: options.subresource,
  });
}
