/**
 * The structural schema check a CRD version's `openAPIV3Schema` passes at CRD create and update,
 * as kube's apiextensions-apiserver makes it (`ValidateStructural`), with kube's paths and
 * messages, sorted as kube sorts them:
 *
 * - every specified field, array item and `additionalProperties` has a `type` (unless it is
 *   int-or-string or preserves unknown fields), an array has `items`, the root is an object
 *   without `additionalProperties`;
 * - `allOf`/`anyOf`/`oneOf`/`not` hold value validations only: no `type`, `additionalProperties`,
 *   `default`, `title`, `description`, `nullable` or `x-kubernetes-*` extensions, no `metadata`;
 *   int-or-string's `anyOf: [{type: integer}, {type: string}]` (also as `allOf[0]`) is allowed;
 * - every property or items a junctor names is also specified outside of it (completeness);
 * - `metadata` at the root restricts only `name` and `generateName`; `apiVersion`/`kind` are
 *   strings and `metadata` an object where resources are embedded;
 * - embedded resources are objects and int-or-string excludes the other two extensions;
 * - the list and map extensions (`x-kubernetes-list-type`, `-list-map-keys` naming required or
 *   defaulted, non-nullable item properties, `-map-type`) and kube's refusal of `uniqueItems`.
 *
 * @module
 */
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../../api/errors.ts";

type Schema = Record<string, unknown>;
type Level = "root" | "item" | "field";

const isObject = (v: unknown): v is Schema =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const JUNCTORS = ["allOf", "anyOf", "oneOf"] as const;
const LIST_TYPES = ["atomic", "set", "map"];
const MAP_TYPES = ["granular", "atomic"];
const EMPTY_TYPE: Record<Level, string> = {
  root: "must not be empty at the root",
  item: "must not be empty for specified array items",
  field: "must not be empty for specified object fields",
};

const props = (s: Schema): Record<string, Schema> =>
  isObject(s.properties) ? (s.properties as Record<string, Schema>) : {};
const list = (v: unknown): Schema[] => (Array.isArray(v) ? v.filter(isObject) : []);
const key = (path: string, name: string) => `${path}.properties[${name}]`;

/** `anyOf: [{type: integer}, {type: string}]` exactly, which int-or-string may carry. */
function isIntOrStringAnyOf(anyOf: unknown): boolean {
  const alternatives = list(anyOf);
  if (alternatives.length !== 2 || !Array.isArray(anyOf) || anyOf.length !== 2) return false;
  return (
    JSON.stringify(alternatives[0]) === '{"type":"integer"}' &&
    JSON.stringify(alternatives[1]) === '{"type":"string"}'
  );
}

/** The structural check of `schema` (a version's `openAPIV3Schema`) at `path`. */
export function checkStructural(schema: Schema, path: string): FieldError[] {
  const errs: FieldError[] = [];
  invariants(schema, "root", path, errs);
  completeness(schema, path, errs);
  const text = (e: FieldError) => `${e.field}: ${e.message}`;
  return errs.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

function invariants(s: Schema, level: Level, path: string, errs: FieldError[]): void {
  const type = typeof s.type === "string" ? s.type : "";
  if (type === "array" && s.items === undefined)
    errs.push(fieldRequired(`${path}.items`, "must be specified"));
  if (isObject(s.items)) invariants(s.items, "item", `${path}.items`, errs);
  for (const [name, sub] of Object.entries(props(s)))
    if (isObject(sub)) invariants(sub, "field", key(path, name), errs);
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (level === "root")
      errs.push(fieldForbidden(`${path}.additionalProperties`, "must not be used at the root"));
    if (isObject(s.additionalProperties))
      invariants(s.additionalProperties, "field", `${path}.additionalProperties`, errs);
  }
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = s["x-kubernetes-embedded-resource"] === true;
  if (intOrString && preserve)
    errs.push(
      fieldInvalid(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  if (intOrString && embedded)
    errs.push(
      fieldInvalid(
        `${path}.x-kubernetes-embedded-resource`,
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  const firstAllOf = list(s.allOf)[0];
  valueValidation(
    s,
    {
      skipAnyOf: isIntOrStringAnyOf(s.anyOf),
      skipFirstAllOfAnyOf: isIntOrStringAnyOf(firstAllOf?.anyOf),
    },
    path,
    errs,
  );
  if (embedded && type !== "object") {
    if (type === "")
      errs.push(
        fieldRequired(`${path}.type`, "must be object if x-kubernetes-embedded-resource is true"),
      );
    else
      errs.push(
        fieldInvalid(
          `${path}.type`,
          type,
          "must be object if x-kubernetes-embedded-resource is true",
        ),
      );
  } else if (type === "" && !intOrString && !preserve) {
    errs.push(fieldRequired(`${path}.type`, EMPTY_TYPE[level]));
  }
  if (embedded && s.additionalProperties !== undefined)
    errs.push(
      fieldForbidden(
        `${path}.additionalProperties`,
        "must not be used if x-kubernetes-embedded-resource is set",
      ),
    );
  if (level === "root" && type !== "" && type !== "object")
    errs.push(fieldInvalid(`${path}.type`, type, "must be object at the root"));
  const properties = props(s);
  if (level === "root" || embedded) {
    for (const name of ["kind", "apiVersion"]) {
      const p = properties[name];
      if (p && p.type !== "string")
        errs.push(fieldInvalid(`${key(path, name)}.type`, p.type ?? "", "must be string"));
    }
    const metadata = properties.metadata;
    if (metadata && metadata.type !== "object")
      errs.push(
        fieldInvalid(`${key(path, "metadata")}.type`, metadata.type ?? "", "must be object"),
      );
  }
  if (level === "root" && properties.metadata && !onlyNames(properties.metadata))
    errs.push(
      fieldForbidden(
        key(path, "metadata"),
        "must not specify anything other than name and generateName, but metadata is implicitly specified",
      ),
    );
  if (embedded && !preserve && Object.keys(properties).length === 0)
    errs.push(
      fieldRequired(
        `${path}.properties`,
        "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      ),
    );
  extensions(s, type, path, errs);
}

/** kube's check that root `metadata` restricts only `name` and `generateName`. */
function onlyNames(metadata: Schema): boolean {
  const { type: _type, default: _default, properties, ...rest } = metadata;
  if (Object.keys(rest).length > 0) return false;
  if (properties === undefined) return true;
  const names = Object.keys(isObject(properties) ? properties : {});
  return names.every((n) => n === "name" || n === "generateName");
}

/** The list/map extensions and `uniqueItems`, as kube's CRD validation checks them. */
function extensions(s: Schema, type: string, path: string, errs: FieldError[]): void {
  if (s.uniqueItems === true)
    errs.push(
      fieldForbidden(
        `${path}.uniqueItems`,
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      ),
    );
  const listType = s["x-kubernetes-list-type"];
  const keys = s["x-kubernetes-list-map-keys"];
  const mapType = s["x-kubernetes-map-type"];
  if (mapType !== undefined && !MAP_TYPES.includes(String(mapType)))
    errs.push(fieldNotSupported(`${path}.x-kubernetes-map-type`, mapType, MAP_TYPES));
  if (listType === undefined) {
    if (Array.isArray(keys) && keys.length > 0)
      errs.push(
        fieldForbidden(
          `${path}.x-kubernetes-list-map-keys`,
          "must be empty if x-kubernetes-list-type is not map",
        ),
      );
    return;
  }
  if (!LIST_TYPES.includes(String(listType))) {
    errs.push(fieldNotSupported(`${path}.x-kubernetes-list-type`, listType, LIST_TYPES));
    return;
  }
  if (type !== "array")
    errs.push(
      fieldInvalid(`${path}.type`, type, "must be array if x-kubernetes-list-type is specified"),
    );
  if (listType !== "map") {
    if (Array.isArray(keys) && keys.length > 0)
      errs.push(
        fieldForbidden(
          `${path}.x-kubernetes-list-map-keys`,
          "must be empty if x-kubernetes-list-type is not map",
        ),
      );
    return;
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    errs.push(
      fieldRequired(
        `${path}.x-kubernetes-list-map-keys`,
        "must not be empty if x-kubernetes-list-type is map",
      ),
    );
    return;
  }
  const items = isObject(s.items) ? s.items : {};
  if (items.type !== "object") {
    errs.push(
      fieldInvalid(
        `${path}.items.type`,
        items.type ?? "",
        "must be object for an array of list-type map",
      ),
    );
    return;
  }
  const itemProps = props(items);
  const required = Array.isArray(items.required) ? items.required.map(String) : [];
  for (const k of keys.map(String)) {
    const keyField = itemProps[k];
    if (!keyField) {
      errs.push(
        fieldRequired(
          `${path}.items.properties[${k}]`,
          "must have all properties listed in x-kubernetes-list-map-keys",
        ),
      );
      continue;
    }
    if (!required.includes(k) && keyField.default === undefined)
      errs.push(
        fieldRequired(
          `${path}.items.properties[${k}].default`,
          "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
        ),
      );
    if (keyField.nullable === true)
      errs.push(
        fieldForbidden(
          `${path}.items.properties[${k}].nullable`,
          "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
        ),
      );
  }
}

function valueValidation(
  s: Schema,
  skip: { skipAnyOf: boolean; skipFirstAllOfAnyOf: boolean },
  path: string,
  errs: FieldError[],
): void {
  if (!skip.skipAnyOf)
    for (const [i, v] of list(s.anyOf).entries()) nested(v, false, `${path}.anyOf[${i}]`, errs);
  for (const [i, v] of list(s.allOf).entries())
    nested(v, skip.skipFirstAllOfAnyOf && i === 0, `${path}.allOf[${i}]`, errs);
  for (const [i, v] of list(s.oneOf).entries()) nested(v, false, `${path}.oneOf[${i}]`, errs);
  if (isObject(s.not)) nested(s.not, false, `${path}.not`, errs);
  if (typeof s.pattern === "string") {
    try {
      new RegExp(s.pattern, "u");
    } catch (e) {
      errs.push(
        fieldInvalid(
          `${path}.pattern`,
          s.pattern,
          `must be a valid regular expression, but isn't: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
    }
  }
}

const FORBIDDEN_IN_JUNCTORS: Array<[string, (v: unknown) => boolean, string]> = [
  ["type", (v) => typeof v === "string" && v !== "", "must be empty to be structural"],
  ["additionalProperties", (v) => v !== undefined, "must be undefined to be structural"],
  ["default", (v) => v !== undefined, "must be undefined to be structural"],
  ["title", (v) => typeof v === "string" && v !== "", "must be empty to be structural"],
  ["description", (v) => typeof v === "string" && v !== "", "must be empty to be structural"],
  ["nullable", (v) => v === true, "must be false to be structural"],
  ["x-kubernetes-preserve-unknown-fields", (v) => v === true, "must be false to be structural"],
  ["x-kubernetes-embedded-resource", (v) => v === true, "must be false to be structural"],
  ["x-kubernetes-int-or-string", (v) => v === true, "must be false to be structural"],
  [
    "x-kubernetes-list-map-keys",
    (v) => Array.isArray(v) && v.length > 0,
    "must be empty to be structural",
  ],
  ["x-kubernetes-list-type", (v) => v !== undefined, "must be undefined to be structural"],
];

/** A schema under a junctor: value validations only. */
function nested(v: Schema, skipAnyOf: boolean, path: string, errs: FieldError[]): void {
  valueValidation(v, { skipAnyOf, skipFirstAllOfAnyOf: false }, path, errs);
  if (isObject(v.items)) nested(v.items, false, `${path}.items`, errs);
  for (const [name, sub] of Object.entries(props(v)))
    if (isObject(sub)) nested(sub, false, key(path, name), errs);
  for (const [field, set, message] of FORBIDDEN_IN_JUNCTORS)
    if (set(v[field])) errs.push(fieldForbidden(`${path}.${field}`, message));
  if (props(v).metadata)
    errs.push(fieldForbidden(key(path, "metadata"), "must not be specified in a nested context"));
}

/** Every property and items a junctor names must be specified outside it too. */
function completeness(s: Schema, path: string, errs: FieldError[]): void {
  if (isObject(s.items)) completeness(s.items, `${path}.items`, errs);
  for (const [name, sub] of Object.entries(props(s)))
    if (isObject(sub)) completeness(sub, key(path, name), errs);
  junctorCompleteness(s, s, path, path, errs);
}

function junctorCompleteness(
  v: Schema,
  s: Schema,
  sPath: string,
  vPath: string,
  errs: FieldError[],
): void {
  if (isObject(v.not)) nestedCompleteness(v.not, s, sPath, `${vPath}.not`, errs);
  for (const junctor of JUNCTORS)
    for (const [i, sub] of list(v[junctor]).entries())
      nestedCompleteness(sub, s, sPath, `${vPath}.${junctor}[${i}]`, errs);
}

function nestedCompleteness(
  v: Schema,
  s: Schema,
  sPath: string,
  vPath: string,
  errs: FieldError[],
): void {
  junctorCompleteness(v, s, sPath, vPath, errs);
  if (isObject(v.items)) {
    if (!isObject(s.items))
      errs.push(fieldRequired(`${sPath}.items`, `because it is defined in ${vPath}.items`));
    else nestedCompleteness(v.items, s.items, `${sPath}.items`, `${vPath}.items`, errs);
  }
  const sProps = props(s);
  for (const [name, sub] of Object.entries(props(v))) {
    if (!isObject(sub)) continue;
    const sFld = sProps[name];
    if (!sFld)
      errs.push(fieldRequired(key(sPath, name), `because it is defined in ${key(vPath, name)}`));
    else nestedCompleteness(sub, sFld, key(sPath, name), key(vPath, name), errs);
  }
}
