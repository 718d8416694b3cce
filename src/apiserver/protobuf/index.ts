/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
 * JSON object the client would have sent as JSON, so the rest of the API server only ever sees
 * JSON. kubectl 1.32 and later send protobuf for every typed-client request: the `create`
 * generators, `create token`, `autoscale`, `auth can-i`, `auth whoami` (see fixtures/).
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` { 1 typeMeta { 1 apiVersion, 2 kind },
 * 2 raw, 3 contentEncoding, 4 contentType } whose `raw` is the kind's message.
 *
 * Contract: the only error thrown is a {@link StatusError} (400 BadRequest) with the wording of
 * kube-apiserver's protobuf serializer, whatever the bytes. Fields the schema does not describe
 * are skipped and listed in {@link DecodedBody.unknownFields}. kube-apiserver does not support
 * strict decoding of protobuf (its codec factory falls back to the plain serializer), so it
 * ignores them even under `fieldValidation=Strict`; a caller may log or reject them.
 *
 * @module
 */
import { badRequest, isStatusError, type StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { type DecodeContext, decodeInto, type UnknownField } from "./_decode.ts";
import { readEnvelope } from "./_envelope.ts";
import { messageOfKind, registeredKinds, schema } from "./_kinds.ts";
import { WireError, WireReader } from "./_wire.ts";

export type { UnknownField } from "./_decode.ts";
export { registeredKinds };

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

export interface DecodeOptions {
  /**
   * The group/version and kind the request URL implies (`apps/v1`, `Deployment`): used when the
   * envelope leaves them empty, and to word errors as kube-apiserver's create handler does.
   */
  expected?: { apiVersion: string; kind: string };
}

export interface DecodedBody {
  object: KubeObject;
  /** Fields present on the wire that the schema does not describe, in wire order. */
  unknownFields: UnknownField[];
}

/** True for `application/vnd.kubernetes.protobuf`, with or without parameters. */
export function isProtobufContentType(contentType: string): boolean {
  return contentType.split(";")[0]?.trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}

/** Decodes a protobuf body into a JSON object with `apiVersion` and `kind` set. */
export function decodeKubeProtobuf(body: Uint8Array, opts: DecodeOptions = {}): KubeObject {
  return decodeKubeProtobufReport(body, opts).object;
}

/** As {@link decodeKubeProtobuf}, and also lists the fields it skipped. */
export function decodeKubeProtobufReport(body: Uint8Array, opts: DecodeOptions = {}): DecodedBody {
  try {
    return decode(body, opts);
  } catch (e) {
    if (isStatusError(e)) throw e;
    throw wrap(e instanceof WireError ? e.message : `malformed protobuf body: ${String(e)}`, opts);
  }
}

function wrap(message: string, opts: DecodeOptions): StatusError {
  const want = opts.expected;
  if (!want) return badRequest(message);
  const version = want.apiVersion.split("/").at(-1) ?? want.apiVersion;
  return badRequest(
    `${want.kind} in version ${JSON.stringify(version)} cannot be handled as a ${want.kind}: ${message}`,
  );
}

function decode(body: Uint8Array, opts: DecodeOptions): DecodedBody {
  const env = readEnvelope(body);
  // As apimachinery's copyKindDefaults: the URL fills in what the envelope leaves empty.
  const apiVersion = env.apiVersion || opts.expected?.apiVersion || "";
  const kind = env.kind || opts.expected?.kind || "";
  const typeMeta = `TypeMeta{APIVersion:${JSON.stringify(env.apiVersion)}, Kind:${JSON.stringify(env.kind)}}`;
  if (!kind) throw badRequest(`Object 'Kind' is missing in '${typeMeta}'`);
  if (!apiVersion) throw badRequest(`Object 'apiVersion' is missing in '${typeMeta}'`);
  if (env.contentEncoding !== "") {
    throw badRequest(
      `unsupported content encoding ${JSON.stringify(env.contentEncoding)} in protobuf body`,
    );
  }
  if (env.contentType !== "" && !isProtobufContentType(env.contentType)) {
    throw badRequest(
      `unsupported content type ${JSON.stringify(env.contentType)} in protobuf body`,
    );
  }
  const message = messageOfKind(apiVersion, kind);
  if (!message) {
    throw badRequest(
      `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`,
    );
  }
  const ctx: DecodeContext = { schema: schema(), unknown: [] };
  const fields: Record<string, unknown> = {};
  decodeInto(fields, new WireReader(body, env.raw.start, env.raw.end), message, ctx, "");
  const object: KubeObject = {
    kind,
    apiVersion,
    ...fields,
    metadata: (fields["metadata"] ?? {}) as KubeObject["metadata"],
  };
  return { object, unknownFields: ctx.unknown };
}
