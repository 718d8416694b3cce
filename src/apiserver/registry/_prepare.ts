/**
 * The steps create and update share: type checks against the URL, the typed decode (field types,
 * unknown fields per `fieldValidation`), kind validation, and recording the writer's field
 * ownership.
 *
 * @module
 */
import { badRequest, invalid, objectTooLarge, StatusError } from "../../api/errors.ts";
import type { KindStrategy } from "../../api/kinds/types.ts";
import { apiVersionOf, type GroupVersionKind, type KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../api/verbs.ts";
import { DecodeDepthError, DecodeTypeError, strictDecodingMessage } from "../openapi/index.ts";
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

const decodedBodies = new WeakSet<object>();

/**
 * Marks a body as the result of {@link decodeBody} already (the body worker decoded it, and its
 * warnings were sent), so the write that receives it takes it as it is instead of decoding it a
 * second time. The mark is used up by that write.
 */
export function markDecoded<T extends object>(body: T): T {
  decodedBodies.add(body);
  return body;
}

/**
 * The typed decode of a body of kind `gvk` into a copy, as kube-apiserver decodes into its types:
 * a value of the wrong type is 400 BadRequest (`Pod in version "v1" cannot be handled as a Pod:
 * json: cannot unmarshal …`); unknown fields are dropped, refused under `Strict` (400, `strict
 * decoding error: unknown field "spec.foo"`), reported through `options.warn` under `Warn` (the
 * default). Call it before anything else reads the body's fields; the body is not touched.
 */
export function decodeBody(
  ctx: RegistryContext,
  gvk: GroupVersionKind,
  body: unknown,
  options: WriteOptions | undefined,
): KubeObject {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("the body of the request was not a JSON object");
  }
  if (decodedBodies.delete(body)) return body as KubeObject;
  const decode = ctx.decoder?.(gvk);
  if (!decode) return structuredClone(body) as KubeObject;
  let decoded: ReturnType<typeof decode>;
  try {
    decoded = decode(body as Record<string, unknown>);
  } catch (e) {
    if (e instanceof DecodeTypeError || e instanceof DecodeDepthError) {
      throw badRequest(
        `${gvk.kind} in version "${gvk.version}" cannot be handled as a ${gvk.kind}: ${e.message}`,
      );
    }
    throw e;
  }
  const { object, unknown } = decoded;
  if (unknown.length > 0) {
    if (options?.fieldValidation === "Strict")
      throw badRequest(strictDecodingMessage(gvk, unknown));
    if (options?.fieldValidation !== "Ignore") {
      for (const field of unknown) options?.warn?.(`unknown field "${field}"`);
    }
  }
  return object as unknown as KubeObject;
}

/** The kind a resource's objects have. */
export function kindOf(info: ResourceInfo): GroupVersionKind {
  return { group: info.group, version: info.version, kind: info.kind };
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

/** etcd's default request limit (`--max-request-bytes`, 1.5 MiB), which every stored object meets. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

function encodedSize(obj: KubeObject): number {
  const text = JSON.stringify(obj);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: skip the exact count for most objects.
  return text.length * 3 <= MAX_OBJECT_BYTES ? text.length : Buffer.byteLength(text);
}

/**
 * The object as it can be stored: itself when its JSON is within {@link MAX_OBJECT_BYTES};
 * otherwise without managedFields, as kube-apiserver retries a write etcd refused; otherwise
 * kube's answer for an object etcd refuses (500 `etcdserver: request is too large`). Measured on
 * the JSON the store keeps (kube measures its protobuf encoding, which is somewhat smaller).
 */
export function fitForStorage(obj: KubeObject): KubeObject {
  if (encodedSize(obj) <= MAX_OBJECT_BYTES) return obj;
  if (obj.metadata.managedFields !== undefined) {
    const { managedFields: _dropped, ...metadata } = obj.metadata;
    const stripped = { ...obj, metadata };
    if (encodedSize(stripped) <= MAX_OBJECT_BYTES) return stripped;
  }
  throw objectTooLarge();
}
