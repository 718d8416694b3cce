/**
 * OpenAPI v3 as kube-apiserver serves it: the root `/openapi/v3` listing one entry per
 * group-version with a content hash, and per group-version documents (`/openapi/v3/apis/apps/v1`)
 * that kubectl needs for `apply`, `create -f`, `edit` (server-side field validation) and `explain`.
 * Also the schema walk behind `fieldValidation=Strict`.
 *
 * Invariants: documents are built on first use and cached, so a document and its hash never
 * change for the life of one {@link createOpenApi} result; the hash is a digest of the document's
 * JSON, so it changes exactly when the served resources (or the generated schemas) change.
 * Schemas come from `_schemas.generated.json` (see `scripts/gen-openapi.ts`); a kind absent from
 * it (a custom resource) gets a permissive schema that accepts any field.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { GroupVersionKind } from "../../api/types.ts";
import { compileDecoder, type Decoder, type DecoderCache } from "./_decode.ts";
import { buildGroupVersionDocument, type OpenApiResource } from "./_document.ts";
import { findUnknownFields, strictDecodingMessage } from "./_fields.ts";
import { closure, resolve, type Schema, schemaNamed, schemaNameOf } from "./_schemas.ts";
import { buildV2Document, encodeV2Document, OPENAPI_V2_PROTOBUF } from "./_v2.ts";

export { DecodeDepthError, type Decoder, DecodeTypeError, nestsDeeper } from "./_decode.ts";
export type { OpenApiResource } from "./_document.ts";
export { inlineSchemaOf } from "./_inline.ts";
export { type Schema, stockGroupVersions } from "./_schemas.ts";
export { strictDecodingMessage };

export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** What an HTTP handler sends for a `/openapi/v3…` or `/openapi/v2` request. */
export interface OpenApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface OpenApi {
  /** The `/openapi/v3` discovery document. */
  root(): OpenApiRoot;
  /** The document of `api/v1` or `apis/<group>/<version>` (a leading `/` is allowed). */
  document(groupVersionPath: string): object | undefined;
  /** The document serialized once, for serving. */
  documentJson(groupVersionPath: string): string | undefined;
  hash(groupVersionPath: string): string | undefined;
  /**
   * Answers a request under `/openapi/v3`, or for `/openapi/v2` (protobuf when `accept` asks for
   * it, else JSON); undefined when the path is not one of ours.
   */
  respond(pathname: string, query: URLSearchParams, accept?: string): OpenApiResponse | undefined;
  /** Top-level field names of a kind (`apiVersion`, `kind`, `metadata`, `spec`, …). */
  knownFields(gvk: GroupVersionKind): string[] | undefined;
  /** Fields of `obj` its kind's schema does not declare, kube-style (`spec.foo`, `a[0].b`). */
  unknownFields(obj: unknown, gvk: GroupVersionKind): string[];
  /**
   * The typed decoder of a kind (compiled on first use, then cached): checks every field's type,
   * drops unknown fields and returns their paths; undefined for a kind without a schema.
   */
  decoder(gvk: GroupVersionKind): Decoder | undefined;
}

/**
 * The deepest nesting of a free-form value (RawExtension, FieldsV1) in a stored object, counted
 * from the value, and of a patch body. Half the store's copy limit (1,000), which leaves room for managedFields'
 * mirror of the object and for V8's native recursion (structuredClone and JSON.stringify
 * overflow the stack between 2,000 and 3,000 levels). kube's own limit is its JSON decoder's
 * 10,000; no built-in kind needs more than about 20.
 */
export const MAX_OBJECT_DEPTH = 500;

const ROOT_PATH = "/openapi/v3";
const V2_PATH = "/openapi/v2";

function groupVersionPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function normalize(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

export function createOpenApi(resources: OpenApiResource[]): OpenApi {
  const byGroupVersion = new Map<
    string,
    { group: string; version: string; resources: OpenApiResource[] }
  >();
  for (const r of resources) {
    const key = groupVersionPath(r.group, r.version);
    let entry = byGroupVersion.get(key);
    if (entry === undefined) {
      entry = { group: r.group, version: r.version, resources: [] };
      byGroupVersion.set(key, entry);
    }
    entry.resources.push(r);
  }
  const built = new Map<string, { doc: object; json: string; hash: string }>();

  function get(path: string) {
    const key = normalize(path);
    let cached = built.get(key);
    if (cached === undefined) {
      const entry = byGroupVersion.get(key);
      if (entry === undefined) return undefined;
      const doc = buildGroupVersionDocument(entry.group, entry.version, entry.resources);
      const json = JSON.stringify(doc);
      const hash = createHash("sha512").update(json).digest("hex").toUpperCase();
      cached = { doc, json, hash };
      built.set(key, cached);
    }
    return cached;
  }

  function root(): OpenApiRoot {
    const paths: OpenApiRoot["paths"] = {};
    for (const key of [...byGroupVersion.keys()].sort()) {
      paths[key] = { serverRelativeURL: `${ROOT_PATH}/${key}?hash=${get(key)!.hash}` };
    }
    return { paths };
  }

  function schemaOf(gvk: GroupVersionKind): Schema | undefined {
    const name = schemaNameOf(gvk);
    return name === undefined ? undefined : schemaNamed(name);
  }

  const lookup = schemaNamed;
  let v2: { json: string; protobuf: Uint8Array } | undefined;
  function v2Document() {
    if (v2 === undefined) {
      const roots = new Set(["io.k8s.apimachinery.pkg.apis.meta.v1.Status"]);
      for (const r of resources) {
        for (const kind of [r.kind, `${r.kind}List`]) {
          const name = schemaNameOf({ group: r.group, version: r.version, kind });
          if (name !== undefined) roots.add(name);
        }
      }
      const schemas: Record<string, Schema> = {};
      for (const name of closure(roots, lookup)) schemas[name] = lookup(name)!;
      const doc = buildV2Document(schemas, "unversioned") as Parameters<typeof encodeV2Document>[0];
      v2 = { json: JSON.stringify(doc), protobuf: encodeV2Document(doc) };
    }
    return v2;
  }
  const decoders = new Map<string, Decoder | undefined>();
  const nodes: DecoderCache = new Map();

  return {
    root,
    document: (path) => get(path)?.doc,
    documentJson: (path) => get(path)?.json,
    hash: (path) => get(path)?.hash,
    respond(pathname, query, accept) {
      if (pathname === V2_PATH) {
        const doc = v2Document();
        if (accept?.includes("com.github.proto-openapi.spec.v2")) {
          return {
            status: 200,
            headers: { "content-type": OPENAPI_V2_PROTOBUF },
            body: doc.protobuf,
          };
        }
        return json(200, doc.json, {});
      }
      if (pathname === ROOT_PATH || pathname === `${ROOT_PATH}/`) {
        return json(200, JSON.stringify(root()), {});
      }
      if (!pathname.startsWith(`${ROOT_PATH}/`)) return undefined;
      const entry = get(pathname.slice(ROOT_PATH.length));
      if (entry === undefined) return undefined;
      const asked = query.get("hash");
      if (asked !== null && asked !== entry.hash) {
        // As kube-apiserver does: send a client holding a stale URL to the current one.
        const location = `${ROOT_PATH}/${normalize(pathname.slice(ROOT_PATH.length))}?hash=${entry.hash}`;
        return { status: 301, headers: { location }, body: "" };
      }
      const headers: Record<string, string> = { etag: `"${entry.hash}"` };
      headers["cache-control"] = asked === null ? "no-cache, private" : "public, immutable";
      return json(200, entry.json, headers);
    },
    knownFields(gvk) {
      const schema = schemaOf(gvk);
      if (schema === undefined) return undefined;
      return Object.keys(resolve(schema, lookup).properties ?? {});
    },
    unknownFields(obj, gvk) {
      const schema = schemaOf(gvk);
      if (schema === undefined) return [];
      return findUnknownFields(obj, schema, lookup);
    },
    decoder(gvk) {
      const key = `${gvk.group}/${gvk.version}/${gvk.kind}`;
      if (decoders.has(key)) return decoders.get(key);
      const name = schemaNameOf(gvk);
      const decoder =
        name === undefined
          ? undefined
          : compileDecoder(name, lookup, { maxDepth: MAX_OBJECT_DEPTH }, nodes);
      decoders.set(key, decoder);
      return decoder;
    },
  };
}

function json(status: number, body: string, headers: Record<string, string>): OpenApiResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body };
}
