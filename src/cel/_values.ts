/**
 * JSON (as a custom resource holds it) to CEL values by the schema's type, as kube's
 * `UnstructuredToVal`: integers become int, numbers double, formatted strings timestamps,
 * durations or bytes, objects and maps `Map`s (an absent field is "no such key"), and the root's
 * metadata only `name` and `generateName`.
 *
 * Also the "actual" type of a value: its type with sizes taken from the value itself, from which
 * the runtime cost of a rule is computed.
 *
 * @module
 */

import type { CelInput } from "@bufbuild/cel";
import { create } from "@bufbuild/protobuf";
import { DurationSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BOOL, type DeclType, DOUBLE, DYN, INT, listOf, mapOf, prim } from "./_types.ts";

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's `time.ParseDuration` (`1h30m`, `-1.5s`, `300ms`) in nanoseconds; undefined if invalid. */
export function parseGoDuration(text: string): bigint | undefined {
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!m) return text === "0" ? 0n : undefined;
  let total = 0;
  for (const part of text
    .replace(/^[+-]/, "")
    .matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g))
    total += Number(part[1]) * (UNITS[part[2] ?? "s"] ?? 1);
  const n = BigInt(Math.round(total));
  return m[1] === "-" ? -n : n;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function dynamic(v: unknown): CelInput {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(dynamic);
  if (isObject(v)) {
    const out = new Map<string, CelInput>();
    for (const [k, x] of Object.entries(v)) out.set(k, dynamic(x));
    return out;
  }
  return v as CelInput;
}

function fromString(v: string, t: DeclType): CelInput {
  if (t.name === "timestamp") {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? v : timestampFromDate(d);
  }
  if (t.name === "duration") {
    const ns = parseGoDuration(v);
    if (ns === undefined) return v;
    return create(DurationSchema, {
      seconds: ns / 1_000_000_000n,
      nanos: Number(ns % 1_000_000_000n),
    });
  }
  if (t.name === "bytes") return Uint8Array.from(Buffer.from(v, "base64"));
  return v;
}

/** `value` as a CEL value of type `t`. */
export function toCel(value: unknown, t: DeclType): CelInput {
  if (value === null || value === undefined) return null;
  switch (t.name) {
    case "int":
      return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : dynamic(value);
    case "double":
      return typeof value === "number" ? value : dynamic(value);
    case "timestamp":
    case "duration":
    case "bytes":
      return typeof value === "string" ? fromString(value, t) : dynamic(value);
    case "list":
      return Array.isArray(value) ? value.map((x) => toCel(x, t.elem ?? DYN)) : dynamic(value);
    case "map": {
      if (!isObject(value)) return dynamic(value);
      const out = new Map<string, CelInput>();
      for (const [k, x] of Object.entries(value)) out.set(k, toCel(x, t.elem ?? DYN));
      return out;
    }
    case "object": {
      if (!isObject(value)) return dynamic(value);
      const out = new Map<string, CelInput>();
      for (const [k, x] of Object.entries(value)) {
        const f = t.fields?.get(k);
        if (f) out.set(k, toCel(x, f));
      }
      return out;
    }
  }
  return dynamic(value);
}

/** The type of `value` with sizes as the value has them (for runtime cost). */
export function actualType(value: unknown, t: DeclType): DeclType {
  if (typeof value === "string")
    return t.name === "string" || t.name === "bytes" || t.name === "dyn"
      ? prim(t.name === "dyn" ? "string" : t.name, 2, [...value].length)
      : t;
  if (Array.isArray(value)) {
    const elem = t.elem ?? DYN;
    return listOf(
      merge(
        value.map((x) => actualType(x, elem)),
        elem,
      ),
      value.length,
    );
  }
  if (isObject(value)) {
    if (t.name === "object" && t.fields) {
      const fields = new Map<string, DeclType>();
      for (const [k, f] of t.fields) fields.set(k, k in value ? actualType(value[k], f) : f);
      return { ...t, fields };
    }
    const elem = t.elem ?? DYN;
    const entries = Object.values(value);
    return mapOf(
      merge(
        entries.map((x) => actualType(x, elem)),
        elem,
      ),
      entries.length,
    );
  }
  if (t.name === "dyn") {
    if (typeof value === "boolean") return BOOL;
    if (typeof value === "number") return Number.isInteger(value) ? INT : DOUBLE;
  }
  return t;
}

/** The widest of several actual types (largest sizes), for a list's or map's elements. */
function merge(types: DeclType[], declared: DeclType): DeclType {
  if (types.length === 0) return { ...declared, maxElements: 0 };
  return types.reduce((a, b) => {
    const wider = a.maxElements >= b.maxElements ? a : b;
    if (a.name === "object" && b.name === "object" && a.fields && b.fields) {
      const fields = new Map(a.fields);
      for (const [k, f] of b.fields) {
        const g = fields.get(k);
        fields.set(k, g ? merge([g, f], f) : f);
      }
      return { ...wider, fields };
    }
    if (a.elem && b.elem) return { ...wider, elem: merge([a.elem, b.elem], a.elem) };
    return wider;
  });
}
