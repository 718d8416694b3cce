/**
 * Unknown-field detection for `fieldValidation=Strict` (and `Warn`): walks a decoded object
 * against the kind's schema and lists every field the schema does not declare, as kube-apiserver's
 * strict decoder names them: `spec.template.spec.containers[0].foo` (dots between fields, `[i]` for
 * list items, `.key` for map entries, no leading dot), in document order, at most 100 of them (the
 * decoder's own cap).
 *
 * Free-form parts are not descended into: objects whose schema declares neither properties nor
 * additionalProperties (RawExtension, FieldsV1), and `x-kubernetes-preserve-unknown-fields`.
 * Values of the wrong JSON type are not reported here; that is a different error.
 *
 * @module
 */

import type { GroupVersionKind } from "../../api/types.ts";
import { resolve, type Schema } from "./_schemas.ts";

type Lookup = (name: string) => Schema | undefined;

const MAX_REPORTED = 100;

export function findUnknownFields(value: unknown, schema: Schema, lookup: Lookup): string[] {
  const out: string[] = [];
  walk(value, schema, "", lookup, out);
  return out;
}

function walk(value: unknown, schema: Schema, path: string, lookup: Lookup, out: string[]): void {
  const s = resolve(schema, lookup);
  if (s["x-kubernetes-preserve-unknown-fields"] === true) return;
  if (Array.isArray(value)) {
    if (s.items === undefined) return;
    value.forEach((item, i) => {
      walk(item, s.items!, `${path}[${i}]`, lookup, out);
    });
    return;
  }
  if (value === null || typeof value !== "object") return;
  const entries = Object.entries(value as Record<string, unknown>);
  if (s.properties !== undefined) {
    for (const [key, v] of entries) {
      const field = path === "" ? key : `${path}.${key}`;
      // Own properties only: a field named `constructor` or `__proto__` is unknown, not inherited.
      const sub = Object.hasOwn(s.properties, key) ? s.properties[key] : undefined;
      if (sub === undefined) {
        if (out.length < MAX_REPORTED) out.push(field);
      } else walk(v, sub, field, lookup, out);
    }
    return;
  }
  if (typeof s.additionalProperties === "object") {
    for (const [key, v] of entries) {
      walk(v, s.additionalProperties, path === "" ? key : `${path}.${key}`, lookup, out);
    }
  }
}

/**
 * kube-apiserver's 400 message for a create or update with unknown fields under Strict, e.g.
 * `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown
 * field "spec.foo"`.
 */
export function strictDecodingMessage(gvk: GroupVersionKind, unknown: string[]): string {
  const list = unknown.map((f) => `unknown field "${f}"`).join(", ");
  return `${gvk.kind} in version "${gvk.version}" cannot be handled as a ${gvk.kind}: strict decoding error: ${list}`;
}
