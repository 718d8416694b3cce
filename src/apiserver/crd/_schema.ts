/**
 * A custom resource against its CRD version's structural schema, as kube's apiextensions-apiserver
 * treats it: unknown fields pruned (kept under `x-kubernetes-preserve-unknown-fields`, in
 * `additionalProperties` maps, and for `apiVersion`/`kind`/`metadata` at the root and in
 * `x-kubernetes-embedded-resource` objects), `default`s filled where a field is absent, then
 * validation of type, `x-kubernetes-int-or-string`, `required`, `enum`, bounds, `pattern`,
 * lengths and item counts, with kube's field paths and messages.
 *
 * Not yet: formats, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`, list-type/map-keys. CEL rules
 * (`x-kubernetes-validations`) are `_rules.ts`.
 *
 * @module
 */
import {
  type FieldError,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../../api/errors.ts";

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const TYPE_META = ["apiVersion", "kind", "metadata"];

/** Prunes unknown fields and fills defaults in place; `root` marks the object's top level. */
export function pruneAndDefault(
  value: unknown,
  schema: JsonSchema | undefined,
  root = false,
  pruned?: { path: string; out: string[] },
): void {
  if (!schema) return;
  const path = pruned?.path ?? "";
  const at = (key: string) =>
    pruned ? { path: path ? `${path}.${key}` : key, out: pruned.out } : undefined;
  const drop = (obj: Json, key: string) => {
    delete obj[key];
    pruned?.out.push(path ? `${path}.${key}` : key);
  };
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const inner = pruned ? { path: `${path}[${i}]`, out: pruned.out } : undefined;
      pruneAndDefault(item, schema.items, false, inner);
    }
    return;
  }
  if (!isObject(value)) return;
  const keep = root || schema["x-kubernetes-embedded-resource"] ? TYPE_META : [];
  if (schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (value[key] === undefined && sub.default !== undefined)
        value[key] = structuredClone(sub.default);
    }
    if (!schema["x-kubernetes-preserve-unknown-fields"]) {
      for (const key of Object.keys(value)) {
        if (!(key in schema.properties) && !keep.includes(key)) drop(value, key);
      }
    }
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (key === "metadata" && keep.includes(key)) continue;
      pruneAndDefault(value[key], sub, false, at(key));
    }
  } else if (isObject(schema.additionalProperties)) {
    for (const [key, v] of Object.entries(value))
      pruneAndDefault(v, schema.additionalProperties, false, at(key));
  } else if (
    !schema["x-kubernetes-preserve-unknown-fields"] &&
    schema.additionalProperties !== true
  ) {
    for (const key of Object.keys(value)) if (!keep.includes(key)) drop(value, key);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(value: unknown, schema: JsonSchema): boolean {
  const actual = typeOf(value);
  if (schema["x-kubernetes-int-or-string"]) return actual === "integer" || actual === "string";
  if (!schema.type) return true;
  if (schema.type === "number") return actual === "number" || actual === "integer";
  return actual === schema.type;
}

/** Validates `value` at `path` (`spec.replicas`; "" at the root). */
export function validateSchema(
  value: unknown,
  schema: JsonSchema | undefined,
  path = "",
): FieldError[] {
  if (!schema) return [];
  const errs: FieldError[] = [];
  const at = (child: string) => (path ? `${path}.${child}` : child);
  const name = path || "body";
  if (value === null) {
    if (!schema.nullable && schema.type)
      errs.push(
        fieldInvalid(path, value, `${name} in body must be of type ${schema.type}: "null"`),
      );
    return errs;
  }
  if (!typeMatches(value, schema)) {
    const want = schema["x-kubernetes-int-or-string"] ? "integer,string" : schema.type;
    errs.push(
      fieldInvalid(
        path,
        typeOf(value),
        `${name} in body must be of type ${want}: "${typeOf(value)}"`,
      ),
    );
    return errs;
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push(
      fieldNotSupported(
        path,
        value,
        schema.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
      ),
    );
  }
  if (typeof value === "number") {
    if (
      schema.minimum !== undefined &&
      (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)
    )
      errs.push(
        fieldInvalid(
          path,
          value,
          `${name} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`,
        ),
      );
    if (
      schema.maximum !== undefined &&
      (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)
    )
      errs.push(
        fieldInvalid(
          path,
          value,
          `${name} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`,
        ),
      );
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.maxLength !== undefined && length > schema.maxLength)
      errs.push({
        type: "FieldValueTooLong",
        field: path,
        message: `Too long: may not be more than ${schema.maxLength} bytes`,
      });
    if (schema.minLength !== undefined && length < schema.minLength)
      errs.push(
        fieldInvalid(
          path,
          value,
          `${name} in body should be at least ${schema.minLength} chars long`,
        ),
      );
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value))
      errs.push(fieldInvalid(path, value, `${name} in body should match '${schema.pattern}'`));
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errs.push({
        type: "FieldValueTooMany",
        field: path,
        message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      });
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errs.push(
        fieldInvalid(path, value, `${name} in body should have at least ${schema.minItems} items`),
      );
    value.forEach((item, i) => {
      errs.push(...validateSchema(item, schema.items, `${path}[${i}]`));
    });
  }
  if (isObject(value)) {
    for (const key of schema.required ?? [])
      if (value[key] === undefined) errs.push(fieldRequired(at(key)));
    for (const [key, v] of Object.entries(value)) {
      if (!path && TYPE_META.includes(key)) continue;
      const sub =
        schema.properties?.[key] ??
        (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      errs.push(...validateSchema(v, sub, at(key)));
    }
  }
  return errs;
}
