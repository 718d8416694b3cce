/**
 * The envelope of a Kubernetes protobuf body: the magic `k8s\0`, then a `runtime.Unknown`
 * { 1 typeMeta { 1 apiVersion, 2 kind }, 2 raw, 3 contentEncoding, 4 contentType }. Errors for
 * a missing or wrong magic use the words of apimachinery's protobuf serializer.
 *
 * @module
 */
import { badRequest } from "../../api/errors.ts";
import { WIRE_BYTES, WireError, WireReader } from "./_wire.ts";

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: { start: number; end: number };
  contentEncoding: string;
  contentType: string;
}

const utf8 = new TextDecoder();

function readString(r: WireReader, wireType: number): string {
  if (wireType !== WIRE_BYTES)
    throw new WireError(`proto: wrong wireType = ${wireType} for a string`);
  return utf8.decode(r.slice(r.bytes()));
}

/** Checks the magic and reads the envelope; `raw` is the range of the kind's message in `body`. */
export function readEnvelope(body: Uint8Array): Envelope {
  if (body.length === 0) throw badRequest("empty data");
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw badRequest(
      `provided data does not appear to be a protobuf message, expected prefix [${MAGIC.join(" ")}]`,
    );
  }
  if (body.length === MAGIC.length) throw badRequest("empty body");
  const r = new WireReader(body, MAGIC.length);
  const env: Envelope = {
    apiVersion: "",
    kind: "",
    raw: { start: 0, end: 0 },
    contentEncoding: "",
    contentType: "",
  };
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 1) {
      if (wireType !== WIRE_BYTES)
        throw new WireError(`proto: wrong wireType = ${wireType} for field TypeMeta`);
      const tm = r.sub(r.bytes());
      while (!tm.done) {
        const t = tm.tag();
        if (t.field === 1) env.apiVersion = readString(tm, t.wireType);
        else if (t.field === 2) env.kind = readString(tm, t.wireType);
        else tm.skip(t.wireType);
      }
    } else if (field === 2) {
      if (wireType !== WIRE_BYTES)
        throw new WireError(`proto: wrong wireType = ${wireType} for field Raw`);
      env.raw = r.bytes();
    } else if (field === 3) env.contentEncoding = readString(r, wireType);
    else if (field === 4) env.contentType = readString(r, wireType);
    else r.skip(wireType);
  }
  return env;
}
