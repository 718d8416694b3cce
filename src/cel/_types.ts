/**
 * The CEL type of an OpenAPI v3 (structural) schema, as kube's `DeclType` maps it: objects with
 * properties are objects, `additionalProperties` maps are maps, arrays are lists, integer → int,
 * number → double, boolean → bool; strings by format (`byte` → bytes, `duration` → duration,
 * `date-time`/`date` → timestamp); `x-kubernetes-int-or-string` and schemaless
 * `x-kubernetes-preserve-unknown-fields` are dyn; an embedded resource (and the root) also has
 * `apiVersion`, `kind` and `metadata` with `name` and `generateName`.
 *
 * Each type carries the largest number of elements (lists, maps) or characters (strings) a
 * request may hold, from `maxItems`/`maxProperties`/`maxLength` or else from kube's 3 MiB request
 * limit and the element's smallest serialized size: the cost estimator works from these.
 *
 * @module
 */

/** The parts of a JSON schema the CEL environment reads. */
export interface CelSchema {
  type?: string;
  format?: string;
  properties?: Record<string, CelSchema>;
  additionalProperties?: CelSchema | boolean;
  items?: CelSchema;
  maxItems?: number;
  maxLength?: number;
  maxProperties?: number;
  nullable?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

export type TypeName =
  | "object"
  | "map"
  | "list"
  | "int"
  | "uint"
  | "double"
  | "bool"
  | "string"
  | "bytes"
  | "timestamp"
  | "duration"
  | "null"
  | "type"
  | "dyn"
  | "optional"
  | "opaque";

export interface DeclType {
  name: TypeName;
  /** An object's fields. */
  fields?: Map<string, DeclType>;
  /** A list's element, a map's value, an optional's value. */
  elem?: DeclType;
  /** Most elements (lists, maps) or characters (strings, bytes) a value may have. */
  maxElements: number;
  /** Fewest bytes the value takes in JSON. */
  minSize: number;
}

/** kube's limit of a request body (`MaxRequestSizeBytes`, 3 MiB). */
export const MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024;

export const DYN: DeclType = { name: "dyn", maxElements: MAX_REQUEST_SIZE_BYTES, minSize: 1 };
export const prim = (name: TypeName, minSize = 1, maxElements = 0): DeclType => ({
  name,
  maxElements,
  minSize,
});
export const BOOL = prim("bool", 4);
export const INT = prim("int");
export const DOUBLE = prim("double");
export const STRING = prim("string", 2, MAX_REQUEST_SIZE_BYTES - 2);
export const listOf = (elem: DeclType, max?: number): DeclType => ({
  name: "list",
  elem,
  maxElements: max ?? Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / (elem.minSize + 1)),
  minSize: 2,
});
export const mapOf = (elem: DeclType, max?: number): DeclType => ({
  name: "map",
  elem,
  // a key is at least `""` and a colon, each entry after the first a comma
  maxElements: max ?? Math.floor((MAX_REQUEST_SIZE_BYTES - 2) / (elem.minSize + 4)),
  minSize: 2,
});

function stringType(s: CelSchema): DeclType {
  switch (s.format) {
    case "byte":
      return prim("bytes", 2, s.maxLength ?? MAX_REQUEST_SIZE_BYTES - 2);
    case "duration":
      return prim("duration", 4);
    case "date-time":
      return prim("timestamp", 22);
    case "date":
      return prim("timestamp", 12);
  }
  return prim("string", 2, s.maxLength ?? MAX_REQUEST_SIZE_BYTES - 2);
}

const META: DeclType = {
  name: "object",
  fields: new Map([
    ["name", STRING],
    ["generateName", STRING],
  ]),
  maxElements: 0,
  minSize: 2,
};

/** The CEL type of `schema`; `root` adds the type and object meta fields, as kube does. */
export function declTypeOf(schema: CelSchema | undefined, root = false): DeclType {
  if (!schema) return DYN;
  if (schema["x-kubernetes-int-or-string"]) return DYN;
  const embedded = root || !!schema["x-kubernetes-embedded-resource"];
  switch (schema.type) {
    case "integer":
      return INT;
    case "number":
      return DOUBLE;
    case "boolean":
      return BOOL;
    case "string":
      return stringType(schema);
    case "array":
      return listOf(declTypeOf(schema.items), schema.maxItems);
    case "object": {
      if (schema.properties || embedded) {
        const fields = new Map<string, DeclType>();
        for (const [k, v] of Object.entries(schema.properties ?? {})) fields.set(k, declTypeOf(v));
        if (embedded) {
          fields.set("apiVersion", STRING);
          fields.set("kind", STRING);
          fields.set("metadata", META);
        }
        return { name: "object", fields, maxElements: fields.size, minSize: 2 };
      }
      if (typeof schema.additionalProperties === "object")
        return mapOf(declTypeOf(schema.additionalProperties), schema.maxProperties);
      return schema["x-kubernetes-preserve-unknown-fields"]
        ? DYN
        : mapOf(DYN, schema.maxProperties);
    }
  }
  return DYN;
}

/** The name CEL prints for a type (`list(int)`, `map(string, dyn)`). */
export function typeString(t: DeclType): string {
  switch (t.name) {
    case "list":
      return `list(${typeString(t.elem ?? DYN)})`;
    case "map":
      return `map(string, ${typeString(t.elem ?? DYN)})`;
    case "optional":
      return `optional_type(${typeString(t.elem ?? DYN)})`;
    case "timestamp":
      return "google.protobuf.Timestamp";
    case "duration":
      return "google.protobuf.Duration";
    case "null":
      return "null_type";
    case "object":
      return "object";
  }
  return t.name;
}
