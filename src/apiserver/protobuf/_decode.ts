/**
 * Decodes one protobuf message into the JSON object Go's encoding/json would print for the Go
 * value gogo-protobuf's Unmarshal builds from it, guided by a compiled schema (`_schema.ts`).
 *
 * Invariants: the input is never trusted: every length is bounds-checked by the reader, a wire
 * type that does not fit the described field throws {@link WireError}, recursion only follows
 * the schema (which has no cycles among the described messages), and work is linear in the
 * input size. Fields the schema does not describe are skipped and reported, never fatal, as
 * gogo-protobuf skips them too. As in gogo-protobuf a repeated message field appends, a scalar
 * seen twice keeps the last value and an embedded message seen twice merges.
 *
 * @module
 */
import type { CompiledSchema, FieldSpec, ScalarType, ValueType } from "./_schema.ts";
import { decodeSpecial, zeroSpecial } from "./_special.ts";
import { WIRE_BYTES, WIRE_FIXED64, WIRE_VARINT, WireError, type WireReader } from "./_wire.ts";

/** A field number the schema does not describe, with the JSON path of its message. */
export interface UnknownField {
  path: string;
  field: number;
}

export interface DecodeContext {
  schema: CompiledSchema;
  unknown: UnknownField[];
}

type JsonObject = Record<string, unknown>;

const utf8 = new TextDecoder();

function expectWire(spec: FieldSpec, got: number, want: number): void {
  if (got !== want) {
    throw new WireError(`proto: wrong wireType = ${got} for field ${spec.json || "(inline)"}`);
  }
}

function scalarWireType(type: ScalarType): number {
  if (type === "string" || type === "bytes") return WIRE_BYTES;
  if (type === "double") return WIRE_FIXED64;
  return WIRE_VARINT;
}

/** Reads one scalar whose tag has already been consumed. */
function readScalar(r: WireReader, type: ScalarType): unknown {
  switch (type) {
    case "string":
      return utf8.decode(r.slice(r.bytes()));
    case "bytes":
      return Buffer.from(r.slice(r.bytes())).toString("base64");
    case "int32":
      return Number(BigInt.asIntN(32, r.varint()));
    case "int64":
      return Number(BigInt.asIntN(64, r.varint()));
    case "bool":
      return r.varint() !== 0n;
    case "double": {
      const v = r.fixed64().getFloat64(0, true);
      if (!Number.isFinite(v)) throw new WireError("json: unsupported value: non-finite number");
      return v;
    }
  }
}

function zeroScalar(type: ScalarType): unknown {
  if (type === "string" || type === "bytes") return "";
  if (type === "bool") return false;
  return 0;
}

function isZeroScalar(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}

/** Reads one value of `type` (tag consumed); `target` is an earlier copy of a message to merge into. */
function readValue(
  r: WireReader,
  spec: FieldSpec,
  wireType: number,
  ctx: DecodeContext,
  path: string,
  target?: JsonObject,
): unknown {
  const value: ValueType = spec.value;
  if (value.kind === "scalar") {
    expectWire(spec, wireType, scalarWireType(value.type));
    return readScalar(r, value.type);
  }
  expectWire(spec, wireType, WIRE_BYTES);
  const range = r.bytes();
  if (value.kind === "special") {
    return decodeSpecial(value.type, r.sub(range), range.end === range.start);
  }
  const out = target ?? {};
  decodeInto(out, r.sub(range), value.name, ctx, path);
  return out;
}

/** A map entry: key = 1 (string), value = 2; absent parts take their Go zero values. */
function readMapEntry(
  r: WireReader,
  spec: FieldSpec,
  ctx: DecodeContext,
  path: string,
): [string, unknown] {
  let key = "";
  let value: unknown;
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 1) {
      expectWire(spec, wireType, WIRE_BYTES);
      key = utf8.decode(r.slice(r.bytes()));
    } else if (field === 2) {
      value = readValue(r, spec, wireType, ctx, `${path}[${JSON.stringify(key)}]`);
    } else {
      r.skip(wireType);
    }
  }
  if (value === undefined) value = zeroOf(spec.value, ctx);
  return [key, value];
}

function zeroOf(value: ValueType, ctx: DecodeContext): unknown {
  if (value.kind === "scalar") return zeroScalar(value.type);
  if (value.kind === "special") return zeroSpecial(value.type);
  const out: JsonObject = {};
  finish(out, value.name, ctx);
  return out;
}

/** Repeated numbers may arrive packed (one length-delimited run) or one tag per element. */
function readRepeated(
  r: WireReader,
  spec: FieldSpec,
  wireType: number,
  ctx: DecodeContext,
  path: string,
  list: unknown[],
): void {
  const value = spec.value;
  if (
    value.kind === "scalar" &&
    wireType === WIRE_BYTES &&
    scalarWireType(value.type) !== WIRE_BYTES
  ) {
    const packed = r.sub(r.bytes());
    while (!packed.done) list.push(readScalar(packed, value.type));
    return;
  }
  list.push(readValue(r, spec, wireType, ctx, `${path}[${list.length}]`));
}

/** The value at `out[key]`, created by `init` when absent. */
function slot(out: JsonObject, key: string, init: () => unknown): unknown {
  // null is what `finish` leaves for an absent non-omitempty list; a merged repeat may fill it.
  if (!Object.hasOwn(out, key) || out[key] === null) out[key] = init();
  return out[key];
}

function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Decodes the fields of message `name` from `r` into `out` (shared with inlined structs). */
export function decodeInto(
  out: JsonObject,
  r: WireReader,
  name: string,
  ctx: DecodeContext,
  path: string,
): void {
  const fields = ctx.schema.get(name);
  if (!fields) throw new Error(`protobuf message ${name} is not described`);
  while (!r.done) {
    const { field, wireType } = r.tag();
    const spec = fields.get(field);
    if (!spec) {
      r.skip(wireType);
      ctx.unknown.push({ path, field });
      continue;
    }
    if (spec.inline) {
      expectWire(spec, wireType, WIRE_BYTES);
      if (spec.value.kind !== "message")
        throw new Error(`inline field of ${name} is not a message`);
      decodeInto(out, r.sub(r.bytes()), spec.value.name, ctx, path);
      continue;
    }
    const p = child(path, spec.json);
    if (spec.map) {
      expectWire(spec, wireType, WIRE_BYTES);
      const map = slot(out, spec.json, () => ({})) as JsonObject;
      const [k, v] = readMapEntry(r.sub(r.bytes()), spec, ctx, p);
      // A key such as "__proto__" must become a property, not replace the prototype.
      Object.defineProperty(map, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (spec.repeated) {
      readRepeated(r, spec, wireType, ctx, p, slot(out, spec.json, () => []) as unknown[]);
    } else {
      const earlier = out[spec.json];
      const target =
        spec.value.kind === "message" && typeof earlier === "object" && earlier !== null
          ? (earlier as JsonObject)
          : undefined;
      out[spec.json] = readValue(r, spec, wireType, ctx, p, target);
    }
  }
  finish(out, name, ctx);
}

/** Applies Go's JSON presence rules to the scalar, repeated and map fields of a decoded message. */
function finish(out: JsonObject, name: string, ctx: DecodeContext): void {
  const fields = ctx.schema.get(name);
  if (!fields) return;
  for (const spec of fields.values()) {
    if (spec.inline) continue;
    const has = Object.hasOwn(out, spec.json);
    if (spec.repeated || spec.map) {
      if (!has && spec.presence === "always") out[spec.json] = null;
      continue;
    }
    if (spec.value.kind !== "scalar") continue;
    if (spec.presence === "omitempty" && has && isZeroScalar(out[spec.json])) {
      delete out[spec.json];
    } else if (spec.presence === "always" && !has) {
      out[spec.json] = zeroScalar(spec.value.type);
    }
  }
}
