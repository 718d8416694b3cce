/**
 * The declarative description of Kubernetes' protobuf messages and the compiler that turns it
 * into lookup maps. A table maps message name → field number → a field string:
 *
 *     "<jsonName> <type><flag>"     or     "... <Message>"  (an embedded struct inlined in JSON)
 *
 * `<type>` is a scalar (`string int32 int64 bool bytes double`), a special message
 * (`Time MicroTime IntOrString Quantity Duration json fieldsJson StringList`), a message name, `[]T`
 * (repeated) or `map<T>` (string keys; entries are messages with key = 1, value = 2).
 *
 * `<flag>` reproduces how Go's encoding/json prints the field, so the decoded object equals the
 * JSON kubectl would have sent for the same Go value:
 * - none: a non-pointer field tagged `omitempty`: a zero value (the Go encoder writes it anyway)
 *   is dropped; a repeated or map field is dropped when empty;
 * - `?`: a pointer (`*int32`, `*bool`…): written only when set, so a zero on the wire is kept;
 * - `!`: a field without `omitempty`: a scalar is printed even when zero or absent, a repeated
 *   or map field absent from the wire is printed as `null`.
 * Messages are printed when they are on the wire: gogo-protobuf writes every non-pointer struct
 * (even empty) and a pointer struct only when set, which is exactly when Go's JSON prints them.
 *
 * @module
 */

export type ScalarType = "string" | "int32" | "int64" | "bool" | "bytes" | "double";
export type SpecialType =
  | "Time"
  | "MicroTime"
  | "IntOrString"
  | "Quantity"
  | "Duration"
  | "json"
  | "fieldsJson"
  | "StringList";

export type ValueType =
  | { kind: "scalar"; type: ScalarType }
  | { kind: "special"; type: SpecialType }
  | { kind: "message"; name: string };

export type Presence = "omitempty" | "pointer" | "always";

export interface FieldSpec {
  /** The JSON name; empty for an inlined embedded message. */
  json: string;
  inline: boolean;
  repeated: boolean;
  map: boolean;
  value: ValueType;
  presence: Presence;
}

/** message name → field number → field string (see the module comment). */
export type SchemaTable = Record<string, Record<number, string>>;

export type CompiledSchema = ReadonlyMap<string, ReadonlyMap<number, FieldSpec>>;

const SCALARS = new Set<string>(["string", "int32", "int64", "bool", "bytes", "double"]);
const SPECIALS = new Set<string>([
  "Time",
  "MicroTime",
  "IntOrString",
  "Quantity",
  "Duration",
  "json",
  "fieldsJson",
  "StringList",
]);

function valueType(name: string): ValueType {
  if (SCALARS.has(name)) return { kind: "scalar", type: name as ScalarType };
  if (SPECIALS.has(name)) return { kind: "special", type: name as SpecialType };
  return { kind: "message", name };
}

/** Parses one field string; throws on a malformed one (a bug in a table, caught by tests). */
export function parseField(text: string): FieldSpec {
  const m =
    /^(\.\.\.|[A-Za-z][A-Za-z0-9]*) (\[\])?(?:map<([A-Za-z][A-Za-z0-9]*)>|([A-Za-z][A-Za-z0-9]*))([?!])?$/.exec(
      text,
    );
  if (!m) throw new Error(`malformed protobuf field description ${JSON.stringify(text)}`);
  const [, json = "", rep, mapValue, plain, flag] = m;
  const inline = json === "...";
  return {
    json: inline ? "" : json,
    inline,
    repeated: rep !== undefined,
    map: mapValue !== undefined,
    value: valueType(mapValue ?? plain ?? ""),
    presence: flag === "?" ? "pointer" : flag === "!" ? "always" : "omitempty",
  };
}

/** Merges tables and parses every field; a message defined twice or a dangling reference throws. */
export function compileSchema(tables: SchemaTable[]): CompiledSchema {
  const out = new Map<string, Map<number, FieldSpec>>();
  for (const table of tables) {
    for (const [name, fields] of Object.entries(table)) {
      if (out.has(name)) throw new Error(`protobuf message ${name} described twice`);
      const parsed = new Map<number, FieldSpec>();
      for (const [num, text] of Object.entries(fields)) parsed.set(Number(num), parseField(text));
      out.set(name, parsed);
    }
  }
  for (const [name, fields] of out) {
    for (const f of fields.values()) {
      if (f.value.kind === "message" && !out.has(f.value.name)) {
        throw new Error(`protobuf message ${name} refers to undescribed ${f.value.name}`);
      }
    }
  }
  return out;
}
