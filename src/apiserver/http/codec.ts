/**
 * Request bodies in and representations out: body size limit, JSON/YAML/protobuf decoding by
 * Content-Type, and Accept negotiation for the `meta.k8s.io` Table and PartialObjectMetadata
 * views kubectl and controllers ask for.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import {
  badRequest,
  notAcceptable,
  StatusError,
  tooLarge,
  unsupportedMediaType,
} from "../../api/errors.ts";
import type { PatchType } from "../../api/verbs.ts";
import { BodyParseError, parseJsonText, parseYamlText } from "./_parse.ts";

/** kube-apiserver's limit for a request body (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export const PROTOBUF = "application/vnd.kubernetes.protobuf";

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export type ProtobufDecoder = (body: Uint8Array) => unknown;

/** Decodes an object body (create, update) by its Content-Type. */
export function decodeObject(
  body: Buffer,
  contentType: string | undefined,
  protobuf?: ProtobufDecoder,
): unknown {
  const type = mediaType(contentType);
  if (type === PROTOBUF) {
    if (!protobuf) throw unsupportedMediaType(type);
    return protobuf(body);
  }
  if (type === "" || type === "application/json" || type === "*/*") return parseJson(body);
  if (type === "application/yaml" || type === "application/x-yaml" || type === "text/yaml")
    return parseYamlBody(body);
  throw unsupportedMediaType(type);
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw badRequest("the body of the request was empty");
  try {
    return parseJsonText(body);
  } catch (e) {
    if (!(e instanceof BodyParseError)) throw e;
    throw badRequest(`couldn't get version/kind; json parse error: ${e.message}`);
  }
}

function parseYamlBody(body: Buffer): unknown {
  if (body.length === 0) throw badRequest("the body of the request was empty");
  try {
    return parseYamlText(body);
  } catch (e) {
    if (!(e instanceof BodyParseError)) throw e;
    throw badRequest(`error converting YAML to JSON: ${e.message}`);
  }
}

const PATCH_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
  "application/apply-patch+cbor": "apply",
};

/** A PATCH's type from its Content-Type; 415 for a type kube does not take. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const media = mediaType(contentType);
  const type = PATCH_TYPES[media];
  if (!type || media.endsWith("+cbor")) {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  return type;
}

/** Decodes a PATCH body: its type from the Content-Type, JSON (or YAML for apply). */
export function decodePatch(
  body: Buffer,
  contentType: string | undefined,
): { type: PatchType; patch: unknown } {
  const type = patchTypeOf(contentType);
  return { type, patch: type === "apply" ? parseYamlBody(body) : parseJson(body) };
}

export type View = "object" | "table" | "partial";

interface AcceptEntry {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): AcceptEntry[] {
  return accept
    .split(",")
    .map((part) => {
      const [type = "", ...params] = part.split(";").map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const eq = kv.indexOf("=");
        if (eq > 0) p[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params: p };
    })
    .filter((e) => e.type !== "");
}

/**
 * The representation a client accepts, in its order of preference: a Table, partial metadata,
 * or the object itself as JSON. Protobuf-only clients get 406; protobuf-or-JSON get JSON.
 */
export function negotiate(accept: string | undefined): View {
  if (!accept) return "object";
  for (const e of parseAccept(accept)) {
    const jsonish = e.type === "application/json" || e.type === "*/*" || e.type === "application/*";
    if (!jsonish && e.type !== "application/yaml") continue;
    const as = e.params["as"];
    if (!as) return "object";
    if (e.params["g"] !== "meta.k8s.io") continue;
    if (as === "Table" && (e.params["v"] === "v1" || e.params["v"] === "v1beta1")) return "table";
    if (
      (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") &&
      e.params["v"] === "v1"
    )
      return "partial";
  }
  throw notAcceptable(
    "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
  );
}

/** Whether the client wants YAML back (only when it asked for nothing else first). */
export function wantsYaml(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = parseAccept(accept)[0];
  return first?.type === "application/yaml";
}
