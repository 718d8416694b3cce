/**
 * How server-side apply merges a custom resource, from its CRD version's schema, as kube's field
 * manager reads a CRD's OpenAPI schema: lists are atomic unless `x-kubernetes-list-type` says
 * `map` (merged element by element on `x-kubernetes-list-map-keys`, a key's schema `default`
 * standing in for an absent key) or `set` (merged as a union of scalars); objects and maps are
 * granular unless `x-kubernetes-map-type: atomic` (or `x-kubernetes-list-type: atomic` on a list,
 * the default). `metadata` keeps ObjectMeta's rules (finalizers as a set, ownerReferences by uid).
 *
 * @module
 */
import { type FieldRule, type SchemaNode, withObjectMeta } from "../../api/patch/index.ts";
import type { JsonSchema } from "./_schema.ts";

const isObject = (v: unknown): v is JsonSchema =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function node(schema: JsonSchema, depth: number): SchemaNode | undefined {
  // The schema is a tree from the store; the bound only guards against a pathological one.
  if (depth > 64) return undefined;
  const out: SchemaNode = {};
  const listType = schema["x-kubernetes-list-type"];
  if (listType === "map") {
    const keys = schema["x-kubernetes-list-map-keys"] ?? [];
    if (keys.length > 0) {
      const rule: FieldRule = { mergeKey: keys[0]!, ssaKeys: keys };
      const defaults: Record<string, string | number> = {};
      for (const k of keys) {
        const d = schema.items?.properties?.[k]?.default;
        if (typeof d === "string" || typeof d === "number") defaults[k] = d;
      }
      if (Object.keys(defaults).length > 0) rule.keyDefaults = defaults;
      out.rule = rule;
    }
  } else if (listType === "set") {
    out.rule = { primitiveMerge: true };
  } else if (schema["x-kubernetes-map-type"] === "atomic") {
    out.rule = { atomic: true };
  }
  if (isObject(schema.items)) {
    const items = node(schema.items, depth + 1);
    if (items) out.items = items;
  }
  if (schema.properties) {
    const fields = new Map<string, SchemaNode>();
    for (const [name, sub] of Object.entries(schema.properties)) {
      const child = isObject(sub) ? node(sub, depth + 1) : undefined;
      if (child) fields.set(name, child);
    }
    if (fields.size > 0) out.fields = fields;
  }
  if (isObject(schema.additionalProperties)) {
    const additional = node(schema.additionalProperties, depth + 1);
    if (additional) out.additional = additional;
  }
  return out.rule || out.items || out.fields || out.additional ? out : undefined;
}

/** Server-side apply's schema of a custom resource version whose schema is `schema`. */
export function applySchema(schema: JsonSchema | undefined): SchemaNode {
  const root = (schema && node(schema, 0)) ?? {};
  // The root's own metadata schema (names only) says nothing about merging.
  root.fields?.delete("metadata");
  return withObjectMeta(root);
}
