/**
 * A custom resource against its CRD version's structural schema, as kube's apiextensions-apiserver
 * treats it: unknown fields pruned (kept under `x-kubernetes-preserve-unknown-fields`, in
 * `additionalProperties` maps, and for `apiVersion`/`kind`/`metadata` at the root and in
 * `x-kubernetes-embedded-resource` objects), `default`s filled where a field is absent, then
 * validation of type, `x-kubernetes-int-or-string`, `required`, `enum`, bounds, `pattern`,
 * lengths, item counts, string `format`s (`_formats.ts`), the value validations under `allOf`,
 * `anyOf`, `oneOf` and `not` (go-openapi's messages, which kube reports at the path `<nil>`), and
 * unique items of `x-kubernetes-list-type: set` lists and unique keys of `map` lists (kube's
 * `Duplicate value`), with kube's field paths and messages.
 *
 * Not yet: `uniqueItems` (kube refuses it in CRDs). CEL rules (`x-kubernetes-validations`) are
 * `_rules.ts`.
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../../api/errors.ts";
import { matchesFormat } from "./_formats.ts";

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
  format?: string;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: string;
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

/** Whether `schema` declares a `default` anywhere (objects of others never need defaulting on read). */
export function hasDefaults(schema: JsonSchema | undefined): boolean {
  if (!schema) return false;
  if (schema.default !== undefined) return true;
  if (schema.properties && Object.values(schema.properties).some(hasDefaults)) return true;
  if (isObject(schema.additionalProperties) && hasDefaults(schema.additionalProperties))
    return true;
  return hasDefaults(schema.items);
}

/**
 * Fills `default`s where a field is absent, as kube defaults an object read from storage (so an
 * object stored before a default was added shows it); with `check` only reports whether any
 * default is missing, leaving `value` alone. The root's `metadata` is never defaulted.
 */
export function fillDefaults(
  value: unknown,
  schema: JsonSchema | undefined,
  check = false,
  root = true,
): boolean {
  if (!schema) return false;
  let missing = false;
  if (Array.isArray(value)) {
    for (const item of value) {
      missing = fillDefaults(item, schema.items, check, false) || missing;
      if (missing && check) return true;
    }
    return missing;
  }
  if (!isObject(value)) return false;
  if (schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (root && key === "metadata") continue;
      if (value[key] === undefined && sub.default !== undefined) {
        if (check) return true;
        value[key] = structuredClone(sub.default);
        missing = true;
      }
      missing = fillDefaults(value[key], sub, check, false) || missing;
      if (missing && check) return true;
    }
  } else if (isObject(schema.additionalProperties)) {
    for (const v of Object.values(value)) {
      missing = fillDefaults(v, schema.additionalProperties, check, false) || missing;
      if (missing && check) return true;
    }
  }
  return missing;
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

/** Validates `value` at `path` (`spec.replicas`; "" at the root), then its lists' uniqueness. */
export function validateSchema(
  value: unknown,
  schema: JsonSchema | undefined,
  path = "",
): FieldError[] {
  const errs = validateValue(value, schema, path);
  uniqueListItems(value, schema, path, errs);
  return errs;
}

/** `allOf`/`oneOf`/`anyOf`/`not` over `value`, with go-openapi's messages. */
function junctorErrors(value: unknown, schema: JsonSchema, path: string): FieldError[] {
  const errs: FieldError[] = [];
  // go-openapi names the value by its own path, with list indexes as steps (`spec.ports.0`).
  const named = JSON.stringify(path.replace(/\[(\d+)\]/g, ".$1"));
  // kube reports these go-openapi errors without a field (`<nil>`) and with the value "".
  const junctor = (message: string) => fieldInvalid("<nil>", "", message);
  const results = (list: JsonSchema[]) => list.map((sub) => validateValue(value, sub, path));
  if (schema.allOf?.length) {
    const all = results(schema.allOf);
    const failed = all.filter((r) => r.length > 0);
    for (const r of failed) errs.push(...r);
    if (failed.length > 0)
      errs.push(
        junctor(
          `${named} must validate all the schemas (allOf)${failed.length === all.length ? ". None validated" : ""}`,
        ),
      );
  }
  if (schema.oneOf?.length) {
    const all = results(schema.oneOf);
    const valid = all.filter((r) => r.length === 0).length;
    if (valid !== 1) {
      errs.push(
        junctor(
          `${named} must validate one and only one schema (oneOf). ${valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`}`,
        ),
      );
      if (valid === 0) errs.push(...fewest(all));
    }
  }
  if (schema.anyOf?.length) {
    const all = results(schema.anyOf);
    if (!all.some((r) => r.length === 0)) {
      errs.push(junctor(`${named} must validate at least one schema (anyOf)`));
      errs.push(...fewest(all));
    }
  }
  if (schema.not && validateValue(value, schema.not, path).length === 0)
    errs.push(junctor(`${named} must not validate the schema (not)`));
  return errs;
}

/** The errors of the alternative that came closest (go-openapi reports its best failure). */
function fewest(all: FieldError[][]): FieldError[] {
  let best: FieldError[] | undefined;
  for (const r of all) if (!best || r.length < best.length) best = r;
  return best ?? [];
}

/** Go's `%#v` of a list-map key (`map[string]interface {}{"name":"a", "port":80}`). */
function goKey(key: Record<string, unknown>): string {
  const parts = Object.keys(key)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(key[k])}`);
  return `map[string]interface {}{${parts.join(", ")}}`;
}

/**
 * kube's `ValidateListSetsAndMaps`: a `set` list may not hold an item twice, a `map` list may not
 * hold two items with the same keys; each repeat is `Duplicate value` at its index.
 */
function uniqueListItems(
  value: unknown,
  schema: JsonSchema | undefined,
  path: string,
  errs: FieldError[],
): void {
  if (!schema || value === null || typeof value !== "object") return;
  const at = (child: string) => (path ? `${path}.${child}` : child);
  if (Array.isArray(value)) {
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set") {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const id = JSON.stringify(item);
        if (seen.has(id)) errs.push(fieldDuplicate(`${path}[${i}]`, item));
        seen.add(id);
      });
    } else if (listType === "map") {
      const keys = schema["x-kubernetes-list-map-keys"] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        if (!isObject(item)) return;
        const key: Record<string, unknown> = {};
        for (const k of keys) {
          const v = item[k] ?? schema.items?.properties?.[k]?.default;
          if (v !== undefined) key[k] = v;
        }
        const id = JSON.stringify(keys.map((k) => key[k]));
        if (seen.has(id))
          errs.push({
            type: "FieldValueDuplicate",
            field: `${path}[${i}]`,
            message: `Duplicate value: ${goKey(key)}`,
          });
        seen.add(id);
      });
    }
    value.forEach((item, i) => {
      uniqueListItems(item, schema.items, `${path}[${i}]`, errs);
    });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!path && TYPE_META.includes(key)) continue;
    const sub =
      schema.properties?.[key] ??
      (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    uniqueListItems(v, sub, at(key), errs);
  }
}

function validateValue(value: unknown, schema: JsonSchema | undefined, path: string): FieldError[] {
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
    if (schema.format && !matchesFormat(schema.format, value))
      errs.push(
        fieldInvalid(
          path,
          value,
          `${name} in body must be of type ${schema.format}: ${JSON.stringify(value)}`,
        ),
      );
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
      errs.push(...validateValue(item, schema.items, `${path}[${i}]`));
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
      errs.push(...validateValue(v, sub, at(key)));
    }
  }
  errs.push(...junctorErrors(value, schema, path));
  return errs;
}
