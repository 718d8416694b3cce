/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), which
 * kubectl 1.32+ sends for its typed-client creates, into the JSON object kubectl would have sent
 * as JSON, so the rest of the API server only ever sees JSON.
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` { 1 typeMeta { 1 apiVersion, 2 kind },
 * 2 raw, 3 contentEncoding, 4 contentType } whose `raw` is the kind's message.
 *
 * Contract: the only error thrown is a {@link StatusError} (400 BadRequest) with the wording of
 * kube-apiserver's protobuf serializer, whatever the bytes. Fields the schema does not describe
 * are skipped and listed in {@link DecodedBody.unknownFields}, so a caller can reject them under
 * `fieldValidation=Strict` (kube-apiserver itself ignores unknown protobuf fields).
 *
 * @module
 */
import { badRequest, isStatusError, type StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { type DecodeContext, decodeInto, type UnknownField } from "./_decode.ts";
import { messageOfKind, registeredKinds, SCHEMA } from "./_kinds.ts";
import { WIRE_BYTES, WireError, WireReader } from "./_wire.ts";

export type { UnknownField } from "./_decode.ts";
export { registeredKinds };

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

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

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: { start: number; end: number };
  contentEncoding: string;
  contentType: string;
}

const utf8 = new TextDecoder();

function readString(r: WireReader, wireType: number): string {
  if (wireType !== WIRE_BYTES)
    throw new WireError(`proto: wrong wireType = ${wireType} for a string`);
  return utf8.decode(r.slice(r.bytes()));
}

function readEnvelope(body: Uint8Array): Envelope {
  const r = new WireReader(body, MAGIC.length);
  const env: Envelope = {
    apiVersion: "",
    kind: "",
    raw: { start: 0, end: 0 },
    contentEncoding: "",
    contentType: "",
  };
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 1) {
      if (wireType !== WIRE_BYTES)
        throw new WireError(`proto: wrong wireType = ${wireType} for field TypeMeta`);
      const tm = r.sub(r.bytes());
      while (!tm.done) {
        const t = tm.tag();
        if (t.field === 1) env.apiVersion = readString(tm, t.wireType);
        else if (t.field === 2) env.kind = readString(tm, t.wireType);
        else tm.skip(t.wireType);
      }
    } else if (field === 2) {
      if (wireType !== WIRE_BYTES)
        throw new WireError(`proto: wrong wireType = ${wireType} for field Raw`);
      env.raw = r.bytes();
    } else if (field === 3) env.contentEncoding = readString(r, wireType);
    else if (field === 4) env.contentType = readString(r, wireType);
    else r.skip(wireType);
  }
  return env;
}

function decode(body: Uint8Array, opts: DecodeOptions): DecodedBody {
  if (body.length === 0) throw badRequest("empty data");
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw badRequest(
      `provided data does not appear to be a protobuf message, expected prefix [${MAGIC.join(" ")}]`,
    );
  }
  if (body.length === MAGIC.length) throw badRequest("empty body");
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
  const ctx: DecodeContext = { schema: SCHEMA, unknown: [] };
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
