/**
 * A kind's schema with every `$ref` followed and put in place, as the CEL environment reads
 * schemas (`cel.CelSchema`): the generated schemas refer to each other by name, and some refer
 * back to themselves (JSONSchemaProps), so a reference seen again on the way down, or deeper
 * than a limit, becomes a schema that accepts anything (dyn in CEL).
 *
 * @module
 */
import type { GroupVersionKind } from "../../api/types.ts";
import { refName, type Schema, schemaNamed, schemaNameOf } from "./_schemas.ts";

const MAX_DEPTH = 32;
const ANY: Schema = { "x-kubernetes-preserve-unknown-fields": true };

function inline(schema: Schema, seen: ReadonlySet<string>, depth: number): Schema {
  const name = refName(schema);
  if (name !== undefined) {
    const target = schemaNamed(name);
    if (!target || seen.has(name) || depth > MAX_DEPTH) return ANY;
    return inline(target, new Set([...seen, name]), depth + 1);
  }
  const out: Schema = { ...schema };
  delete out.description;
  if (schema.properties) {
    out.properties = {};
    for (const [k, v] of Object.entries(schema.properties))
      out.properties[k] = inline(v, seen, depth + 1);
  }
  if (schema.items) out.items = inline(schema.items, seen, depth + 1);
  if (typeof schema.additionalProperties === "object")
    out.additionalProperties = inline(schema.additionalProperties, seen, depth + 1);
  return out;
}

const cache = new Map<string, Schema | undefined>();

/** The whole schema of a served kind, references inlined; undefined for kinds without one. */
export function inlineSchemaOf(gvk: GroupVersionKind): Schema | undefined {
  const key = `${gvk.group}/${gvk.version}/${gvk.kind}`;
  if (!cache.has(key)) {
    const name = schemaNameOf(gvk);
    cache.set(
      key,
      name === undefined
        ? undefined
        : inline({ $ref: `#/components/schemas/${name}` }, new Set(), 0),
    );
  }
  return cache.get(key);
}
