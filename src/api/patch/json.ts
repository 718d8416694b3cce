/**
 * RFC 6902 JSON patch (`application/json-patch+json`) applied as kube-apiserver applies it:
 * - a body that is not a JSON array of operation objects → 400 BadRequest;
 * - more than {@link MAX_JSON_PATCH_OPERATIONS} operations → 413;
 * - an operation that fails (a `test` that does not hold, a missing path, an unknown `op`) → 422
 *   with reason Invalid, message `the server rejected our request due to an error in our request`
 *   and the operation's error as a cause of reason `UnexpectedServerResponse` (kube-apiserver
 *   builds this error with NewGenericServerResponse).
 * Pure: the original is never mutated. Operation messages follow evanphx/json-patch's wording.
 *
 * @module
 */
import jsonpatch from "fast-json-patch";
import { badRequest, StatusError } from "../errors.ts";
import { setOwn } from "../own.ts";
import type { KubeObject } from "../types.ts";

/** kube-apiserver's cap on the number of operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

interface RawOperation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

function rejected(cause: string): StatusError {
  return new StatusError(
    422,
    "Invalid",
    "the server rejected our request due to an error in our request",
    { causes: [{ reason: "UnexpectedServerResponse", message: cause }] },
  );
}

/** evanphx/json-patch's message for a failed operation. */
function operationMessage(op: RawOperation, name: string): string {
  const path = String(op.path ?? "");
  switch (name) {
    case "TEST_OPERATION_FAILED":
      return `testing value ${path} failed: test failed`;
    case "OPERATION_OP_INVALID":
      return `Unexpected kind: ${String(op.op ?? "")}: unknown object type`;
    case "OPERATION_VALUE_OUT_OF_BOUNDS":
    case "OPERATION_PATH_ILLEGAL_ARRAY_INDEX":
      return `Unable to access invalid index: ${path.slice(path.lastIndexOf("/") + 1)}: invalid index referenced`;
    case "OPERATION_FROM_UNRESOLVABLE":
      return `${String(op.op)} operation does not apply: doc is missing from path: ${String(op.from ?? "")}: missing value`;
    case "OPERATION_VALUE_REQUIRED":
      return `${String(op.op)} operation has no value: missing value`;
    default:
      if (op.op === "replace") {
        return `replace operation does not apply: doc is missing key: ${path}: missing value`;
      }
      return `${String(op.op)} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`;
  }
}

/** Parses a JSON patch body (text or already-decoded JSON); 400 when it is not an op list. */
export function parseJsonPatch(body: string | unknown): jsonpatch.Operation[] {
  let value: unknown = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
  }
  if (!Array.isArray(value)) {
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  }
  for (const op of value) {
    if (op === null || typeof op !== "object" || Array.isArray(op)) {
      throw badRequest("json: cannot unmarshal into Go value of type jsonpatch.Operation");
    }
  }
  if (value.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      "RequestEntityTooLarge",
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${value.length}`,
    );
  }
  return value as jsonpatch.Operation[];
}

const PROTO = "__proto__";
/**
 * fast-json-patch sets keys by assignment and refuses a `__proto__` path outright, yet
 * `__proto__` is a valid map key (a ConfigMap's data, say) that kube patches like any other: for
 * a patch that names it, the key travels under this stand-in, which no JSON pointer from a
 * client can hold unescaped, and is renamed back after.
 */
const STAND_IN = "\u0000__proto__";

function namesProto(op: RawOperation): boolean {
  return [op.path, op.from].some((p) => typeof p === "string" && p.split("/").includes(PROTO));
}

/** A copy of a JSON value with every key `from` renamed `to`. */
function renameKey(v: unknown, from: string, to: string): unknown {
  if (Array.isArray(v)) return v.map((e) => renameKey(e, from, to));
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) setOwn(out, k === from ? to : k, renameKey(e, from, to));
  return out;
}

function renamePointer(p: unknown, from: string, to: string): unknown {
  return typeof p === "string"
    ? p
        .split("/")
        .map((s) => (s === from ? to : s))
        .join("/")
    : p;
}

/** Applies a JSON patch to a copy of `original`; see the module header for the errors. */
export function applyJsonPatch(original: KubeObject, patch: string | unknown): KubeObject {
  const ops = parseJsonPatch(patch);
  const proto = ops.some((op) => namesProto(op as RawOperation));
  let doc: unknown = proto ? renameKey(original, PROTO, STAND_IN) : structuredClone(original);
  for (const [i, given] of ops.entries()) {
    const raw = given as RawOperation;
    const op = proto
      ? ({
          ...given,
          path: renamePointer(raw.path, PROTO, STAND_IN),
          ...("from" in given ? { from: renamePointer(raw.from, PROTO, STAND_IN) } : {}),
          ...("value" in given ? { value: renameKey(raw.value, PROTO, STAND_IN) } : {}),
        } as jsonpatch.Operation)
      : given;
    if (typeof raw.path !== "string") {
      throw rejected(
        `${String(raw.op)} operation does not apply: doc is missing path: "": missing value`,
      );
    }
    try {
      doc = jsonpatch.applyOperation(doc, op, true, true, true, i).newDocument;
    } catch (e) {
      if (e instanceof Error && typeof (e as { name?: unknown }).name === "string") {
        throw rejected(operationMessage(raw, e.name));
      }
      throw e;
    }
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw badRequest("the patched object is not a JSON object");
  }
  return (proto ? renameKey(doc, STAND_IN, PROTO) : doc) as KubeObject;
}
