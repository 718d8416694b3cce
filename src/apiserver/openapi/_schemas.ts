/**
 * The generated component schemas (see `scripts/gen-openapi.ts`) and lookups over them.
 *
 * Invariant: schema names are kube-apiserver's (`io.k8s.api.core.v1.Pod`), references are
 * `#/components/schemas/<name>`, and a top-level kind carries `x-kubernetes-group-version-kind`.
 *
 * Nothing here reads the generated file at import: it is about a megabyte, and most CLI commands
 * need none of it (the bundled CLI reads it from a file beside the bundle on the first lookup,
 * see scripts/bundle.mjs; a cluster's start makes one when it creates the system namespaces).
 *
 * @module
 */

import type { GroupVersionKind } from "../../api/types.ts";
import generated from "./_schemas.generated.json" with { type: "json" };

/** An OpenAPI v3 schema object, kept loose: only the keywords the generator emits are read. */
export type Schema = {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  allOf?: Schema[];
  $ref?: string;
  required?: string[];
  default?: unknown;
  "x-kubernetes-group-version-kind"?: GroupVersionKind[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  [keyword: string]: unknown;
};

type Generated = { schemas: Record<string, Schema>; source: string; groupVersions: string[] };
const data = generated as unknown as Generated;

/** The generated schema of this name (`io.k8s.api.core.v1.Pod`), if any. */
export function schemaNamed(name: string): Schema | undefined {
  return Object.hasOwn(data.schemas, name) ? data.schemas[name] : undefined;
}

/** Where the schemas come from (the Kubernetes release of their OpenAPI documents). */
export function schemaSource(): string {
  return data.source;
}

/** The group-versions a stock kube-apiserver of the version the schemas come from serves. */
export function stockGroupVersions(): readonly string[] {
  return data.groupVersions;
}

const REF_PREFIX = "#/components/schemas/";

let byGvk: Map<string, string> | undefined;
function schemaNamesByGvk(): Map<string, string> {
  if (byGvk === undefined) {
    byGvk = new Map();
    for (const [name, schema] of Object.entries(data.schemas)) {
      for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
        byGvk.set(gvkKey(gvk), name);
      }
    }
  }
  return byGvk;
}

export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** Name of the generated schema of a top-level kind, if the generator knows it. */
export function schemaNameOf(gvk: GroupVersionKind): string | undefined {
  return schemaNamesByGvk().get(gvkKey(gvk));
}

export function refTo(name: string): Schema {
  return { $ref: `${REF_PREFIX}${name}` };
}

/** The schema name a `$ref` (or a single-element `allOf` wrapping one) points at. */
export function refName(schema: Schema): string | undefined {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
  return ref?.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : undefined;
}

/** Follows `$ref`/`allOf` wrappers to the schema that describes the value's shape. */
export function resolve(schema: Schema, lookup: (name: string) => Schema | undefined): Schema {
  let current = schema;
  for (let depth = 0; depth < 8; depth++) {
    const name = refName(current);
    if (name === undefined) return current;
    const next = lookup(name);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

/** Every schema name reachable from `roots` through references, in sorted order. */
export function closure(
  roots: Iterable<string>,
  lookup: (name: string) => Schema | undefined,
): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    const schema = lookup(name);
    if (schema === undefined) continue;
    seen.add(name);
    collectRefs(schema, stack);
  }
  return [...seen].sort();
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, v] of Object.entries(value)) {
    if (key === "$ref" && typeof v === "string" && v.startsWith(REF_PREFIX)) {
      out.push(v.slice(REF_PREFIX.length));
    } else {
      collectRefs(v, out);
    }
  }
}
