/**
 * The apimachinery types whose protobuf form differs from their JSON form: Time, MicroTime,
 * IntOrString, Quantity, Duration, raw JSON carried as bytes (RawExtension, FieldsV1), and the
 * string lists that authentication wraps in a message to put them in maps (ExtraValue). Each
 * decoder takes the embedded message's bytes and returns the JSON value Go's encoding/json
 * would print for the value apimachinery's Unmarshal builds from them.
 *
 * @module
 */
import type { SpecialType } from "./_schema.ts";
import { WIRE_BYTES, WIRE_VARINT, WireError, type WireReader } from "./_wire.ts";

/** Reads the varint and length-delimited fields of a small message; others are skipped. */
function fieldsOf(r: WireReader): Map<number, bigint | Uint8Array> {
  const out = new Map<number, bigint | Uint8Array>();
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (wireType === WIRE_VARINT) out.set(field, r.varint());
    else if (wireType === WIRE_BYTES) out.set(field, r.slice(r.bytes()));
    else r.skip(wireType);
  }
  return out;
}

function int(v: bigint | Uint8Array | undefined, bits: 32 | 64): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== "bigint") throw new WireError("proto: wrong wireType = 2 for a number");
  return BigInt.asIntN(bits, v);
}

const utf8 = new TextDecoder();

function str(v: bigint | Uint8Array | undefined): string {
  if (v === undefined) return "";
  if (typeof v === "bigint") throw new WireError("proto: wrong wireType = 0 for a string");
  return utf8.decode(v);
}

const MIN_SECONDS = -62167219200n; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

/** RFC 3339 in UTC with `digits` fractional digits (0 or 6), as Go's time formats print it. */
function rfc3339(seconds: bigint, micros: bigint, digits: 0 | 6): string {
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new WireError("Time.MarshalJSON: year outside of range [0,9999]");
  }
  // Years 0..9999 print as four digits: 1970-01-01T00:00:00.000Z.
  const head = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (digits === 0) return `${head}Z`;
  return `${head}.${micros.toString().padStart(6, "0")}Z`;
}

/** metav1.Time: seconds only (apimachinery drops nanos); an empty message is the zero time. */
function time(r: WireReader, empty: boolean): unknown {
  if (empty) return null;
  const f = fieldsOf(r);
  return rfc3339(int(f.get(1), 64), 0n, 0);
}

/** metav1.MicroTime: seconds and nanos, printed with microseconds. */
function microTime(r: WireReader, empty: boolean): unknown {
  if (empty) return null;
  const f = fieldsOf(r);
  const total = int(f.get(1), 64) * 1_000_000_000n + int(f.get(2), 32);
  let seconds = total / 1_000_000_000n;
  let nanos = total % 1_000_000_000n;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += 1_000_000_000n;
  }
  return rfc3339(seconds, nanos / 1000n, 6);
}

/** intstr.IntOrString: type 0 prints intVal, type 1 strVal. */
function intOrString(r: WireReader): unknown {
  const f = fieldsOf(r);
  const type = int(f.get(1), 64);
  if (type === 0n) return Number(int(f.get(2), 32));
  if (type === 1n) return str(f.get(3));
  throw new WireError("impossible IntOrString.Type");
}

/** resource.Quantity travels as its canonical string; the zero Quantity prints as "0". */
function quantity(r: WireReader): unknown {
  const s = str(fieldsOf(r).get(1));
  return s === "" ? "0" : s;
}

/** metav1.Duration: nanoseconds, printed as Go's time.Duration.String() does (`1h2m3.5s`). */
function duration(r: WireReader): unknown {
  return goDuration(int(fieldsOf(r).get(1), 64));
}

export function goDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  const sign = neg ? "-" : "";
  if (u < 1_000_000_000n) {
    // Sub-second values use the largest unit that keeps an integer part: ns, µs or ms.
    if (u < 1000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${fraction(u, 1000n)}\u00b5s`;
    return `${sign}${fraction(u, 1_000_000n)}ms`;
  }
  const hours = u / 3_600_000_000_000n;
  u -= hours * 3_600_000_000_000n;
  const minutes = u / 60_000_000_000n;
  u -= minutes * 60_000_000_000n;
  let out = `${fraction(u, 1_000_000_000n)}s`;
  if (hours > 0n) out = `${hours}h${minutes}m${out}`;
  else if (minutes > 0n) out = `${minutes}m${out}`;
  return sign + out;
}

/** `value / unit` with the remainder as decimal digits, trailing zeros removed. */
function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, "0").replace(/0+$/, "")}`;
}

/** RawExtension / FieldsV1: field 1 holds JSON bytes; none prints as null. */
function rawJson(r: WireReader): unknown {
  const raw = fieldsOf(r).get(1);
  if (raw === undefined) return null;
  if (typeof raw === "bigint") throw new WireError("proto: wrong wireType = 0 for field Raw");
  if (raw.length === 0) return null;
  try {
    return JSON.parse(utf8.decode(raw)) as unknown;
  } catch {
    throw new WireError("embedded raw JSON is not valid JSON");
  }
}

/** ExtraValue / AttestationValue: `repeated string items = 1`, printed as a plain array. */
function stringList(r: WireReader): unknown {
  const items: string[] = [];
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE_BYTES) items.push(utf8.decode(r.slice(r.bytes())));
    else if (field === 1)
      throw new WireError(`proto: wrong wireType = ${wireType} for field Items`);
    else r.skip(wireType);
  }
  return items;
}

/** Decodes one special message from its bytes. */
export function decodeSpecial(type: SpecialType, r: WireReader, empty: boolean): unknown {
  switch (type) {
    case "Time":
      return time(r, empty);
    case "MicroTime":
      return microTime(r, empty);
    case "IntOrString":
      return intOrString(r);
    case "Quantity":
      return quantity(r);
    case "Duration":
      return duration(r);
    case "json":
    case "fieldsJson":
      return rawJson(r);
    case "StringList":
      return stringList(r);
  }
}

/** The JSON value of a special message absent from a map entry (the Go zero value). */
export function zeroSpecial(type: SpecialType): unknown {
  switch (type) {
    case "IntOrString":
      return 0;
    case "Quantity":
      return "0";
    case "Duration":
      return "0s";
    case "StringList":
      return [];
    default:
      return null;
  }
}
