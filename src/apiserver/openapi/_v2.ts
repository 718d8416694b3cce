/**
 * The OpenAPI v2 document (`/openapi/v2`) of the served kinds, in JSON and in the protobuf form
 * kubectl asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, gnostic's
 * `openapi.v2.Document`).
 *
 * Why it matters: kubectl validates a manifest client-side against v2 when the v3 document of its
 * group-version does not offer the `fieldValidation` parameter, which is the case for every kind
 * the server does not serve. A real server's v2 document then has no definition for that kind,
 * kubectl skips validation, and resource mapping reports `no matches for kind "Job" in version
 * "batch/v1"`. Without a v2 document kubectl stops at "failed to download openapi" instead.
 *
 * Contents: `definitions` only (the schemas of the served kinds and what they reference, with
 * their `x-kubernetes-group-version-kind`), no `paths`: kubectl reads paths of v2 only when v3
 * is unavailable, which never happens here. v3 constructs v2 lacks are mapped as kube-openapi maps
 * them: `allOf: [$ref]` becomes `$ref`, IntOrString and Quantity become strings (the former with
 * format `int-or-string`), and free-form values have no type.
 *
 * @module
 */

import { refName, type Schema } from "./_schemas.ts";

/**
 * What kubectl accepts (`…@v1.0+protobuf`) and the content type sent back: `@` is not allowed in
 * a media type, so kube-apiserver answers with the dotted form, which Go's MIME parser accepts.
 */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

type V2Schema = Record<string, unknown>;

/** Converts one v3 component schema to its v2 form. */
export function toV2(schema: Schema): V2Schema {
  const out: V2Schema = {};
  const ref = refName(schema);
  if (ref !== undefined) {
    if (schema.description !== undefined) out["description"] = schema.description;
    out["$ref"] = `#/definitions/${ref}`;
    return out;
  }
  if (schema.description !== undefined) out["description"] = schema.description;
  if (Array.isArray(schema["oneOf"])) {
    out["type"] = "string";
    if (schema.format === "int-or-string") out["format"] = schema.format;
  } else {
    if (schema.type !== undefined) out["type"] = schema.type;
    if (schema.format !== undefined) out["format"] = schema.format;
  }
  if (schema.items !== undefined) out["items"] = toV2(schema.items);
  if (typeof schema.additionalProperties === "object") {
    out["additionalProperties"] = toV2(schema.additionalProperties);
  }
  if (schema.properties !== undefined) {
    const properties: Record<string, V2Schema> = {};
    for (const [name, p] of Object.entries(schema.properties)) properties[name] = toV2(p);
    out["properties"] = properties;
  }
  if (schema.required !== undefined) out["required"] = schema.required;
  const gvk = schema["x-kubernetes-group-version-kind"];
  if (gvk !== undefined) out["x-kubernetes-group-version-kind"] = gvk;
  return out;
}

/** The v2 document of `schemas` (already the closure of the served kinds). */
export function buildV2Document(schemas: Record<string, Schema>, version: string): object {
  const definitions: Record<string, V2Schema> = {};
  for (const name of Object.keys(schemas).sort()) definitions[name] = toV2(schemas[name]!);
  return { swagger: "2.0", info: { title: "Kubernetes", version }, paths: {}, definitions };
}

// ---- protobuf ----

/** A minimal protobuf writer: varints and length-delimited fields, nothing else is needed. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.push(Uint8Array.from(bytes));
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    if (value === undefined || value === "") return this;
    return this.bytes(field, Buffer.from(value, "utf8"));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** `x-kubernetes-group-version-kind` as kube-openapi writes a vendor extension: YAML text. */
function gvkYaml(gvks: Record<string, string>[]): string {
  return gvks
    .map(
      (g) =>
        `- group: ${JSON.stringify(g["group"])}\n  kind: ${g["kind"]}\n  version: ${g["version"]}\n`,
    )
    .join("");
}

// Field numbers of gnostic's openapi.v2 messages (OpenAPIv2.proto).
const SCHEMA = {
  ref: 1,
  format: 2,
  description: 4,
  required: 19,
  additionalProperties: 21,
  type: 22,
  items: 23,
  properties: 25,
  vendorExtension: 31,
};

function writeSchema(w: Writer, s: V2Schema): void {
  w.string(SCHEMA.ref, s["$ref"] as string | undefined);
  w.string(SCHEMA.format, s["format"] as string | undefined);
  w.string(SCHEMA.description, s["description"] as string | undefined);
  for (const r of (s["required"] as string[] | undefined) ?? []) w.string(SCHEMA.required, r);
  const extra = s["additionalProperties"] as V2Schema | undefined;
  // AdditionalPropertiesItem { oneof { Schema schema = 1; bool boolean = 2; } }
  if (extra !== undefined) {
    w.message(SCHEMA.additionalProperties, (a) => a.message(1, (x) => writeSchema(x, extra)));
  }
  // TypeItem { repeated string value = 1; }
  const type = s["type"] as string | undefined;
  if (type !== undefined) w.message(SCHEMA.type, (t) => t.string(1, type));
  // ItemsItem { repeated Schema schema = 1; }
  const items = s["items"] as V2Schema | undefined;
  if (items !== undefined)
    w.message(SCHEMA.items, (i) => i.message(1, (x) => writeSchema(x, items)));
  // Properties { repeated NamedSchema additional_properties = 1; } NamedSchema { name = 1; value = 2; }
  const properties = s["properties"] as Record<string, V2Schema> | undefined;
  if (properties !== undefined) {
    w.message(SCHEMA.properties, (p) => {
      for (const [name, value] of Object.entries(properties)) {
        p.message(1, (n) => n.string(1, name).message(2, (x) => writeSchema(x, value)));
      }
    });
  }
  // NamedAny { name = 1; Any value = 2; } Any { google.protobuf.Any value = 1; string yaml = 2; }
  const gvk = s["x-kubernetes-group-version-kind"] as Record<string, string>[] | undefined;
  if (gvk !== undefined) {
    w.message(SCHEMA.vendorExtension, (n) =>
      n.string(1, "x-kubernetes-group-version-kind").message(2, (a) => a.string(2, gvkYaml(gvk))),
    );
  }
}

/** The document as an `openapi.v2.Document` protobuf message. */
export function encodeV2Document(doc: {
  swagger: string;
  info: { title: string; version: string };
  definitions: Record<string, V2Schema>;
}): Uint8Array {
  const w = new Writer();
  w.string(1, doc.swagger);
  w.message(2, (info) => info.string(1, doc.info.title).string(2, doc.info.version));
  w.message(8, () => {});
  // Definitions { repeated NamedSchema additional_properties = 1; }
  w.message(9, (d) => {
    for (const [name, schema] of Object.entries(doc.definitions)) {
      d.message(1, (n) => n.string(1, name).message(2, (x) => writeSchema(x, schema)));
    }
  });
  return w.finish();
}
