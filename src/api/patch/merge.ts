/**
 * RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge recursively, `null`
 * deletes a key, anything else (arrays included) replaces. Pure: inputs are not mutated and the
 * result shares no structure with the patch. A patch that is not a JSON object is 400
 * `Invalid JSON Patch`, as kube-apiserver answers for it.
 *
 * @module
 */
import { badRequest } from "../errors.ts";
import { setOwn } from "../own.ts";
import type { KubeObject } from "../types.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** RFC 7386 MergePatch(target, patch) on plain JSON values. */
export function mergePatchValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatchValue(out[k], v));
  }
  return out;
}

/** Applies a merge patch (text or decoded JSON) to a copy of `original`. */
export function applyMergePatch(original: KubeObject, patch: string | unknown): KubeObject {
  let value: unknown = patch;
  if (typeof patch === "string") {
    try {
      value = JSON.parse(patch);
    } catch {
      throw badRequest("Invalid JSON Patch");
    }
  }
  if (!isObject(value)) throw badRequest("Invalid JSON Patch");
  return mergePatchValue(structuredClone(original), value) as KubeObject;
}
