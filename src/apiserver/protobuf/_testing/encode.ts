/**
 * A hand-driven protobuf writer for tests: callers spell out field numbers and wire types, so
 * test inputs do not depend on the decoder's own schema. Test-only.
 *
 * @module
 */

export type Part = Uint8Array;

export function varint(value: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function key(field: number, wireType: number): Uint8Array {
  return varint(field * 8 + wireType);
}

/** A varint field (int32, int64, bool, enum). */
export function vField(field: number, value: bigint | number | boolean): Uint8Array {
  return concat([key(field, 0), varint(typeof value === "boolean" ? Number(value) : value)]);
}

/** A length-delimited field: a string, bytes, or an embedded message given as its parts. */
export function bField(field: number, value: string | Uint8Array | Uint8Array[]): Uint8Array {
  const body =
    typeof value === "string"
      ? new TextEncoder().encode(value)
      : Array.isArray(value)
        ? concat(value)
        : value;
  return concat([key(field, 2), varint(body.length), body]);
}

/** A fixed64 field holding a double. */
export function dField(field: number, value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return concat([key(field, 1), b]);
}

/** A fixed32 field. */
export function f32Field(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value, true);
  return concat([key(field, 5), b]);
}

/** A whole request body: magic, then runtime.Unknown { typeMeta, raw }. */
export function kubeBody(apiVersion: string, kind: string, raw: Uint8Array[]): Uint8Array {
  const typeMeta: Uint8Array[] = [];
  if (apiVersion) typeMeta.push(bField(1, apiVersion));
  if (kind) typeMeta.push(bField(2, kind));
  return concat([
    Uint8Array.from([0x6b, 0x38, 0x73, 0x00]),
    bField(1, typeMeta),
    bField(2, concat(raw)),
  ]);
}

/** A map<string, …> entry field. */
export function entry(
  field: number,
  k: string,
  value: string | Uint8Array | Uint8Array[],
): Uint8Array {
  return bField(field, [bField(1, k), bField(2, value)]);
}
