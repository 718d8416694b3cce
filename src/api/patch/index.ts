/**
 * Patches the API server applies, by content type:
 * - `application/json-patch+json` → {@link applyJsonPatch} (RFC 6902);
 * - `application/merge-patch+json` → {@link applyMergePatch} (RFC 7386);
 * - `application/strategic-merge-patch+json` → {@link applyStrategicMergePatch};
 * - `application/apply-patch+yaml` → {@link serverSideApply}.
 * Ordinary writes record field ownership with {@link recordUpdate}. All functions are pure and
 * throw {@link StatusError}s worded as kube-apiserver's.
 *
 * @module
 */
export type { StatusError } from "../errors.ts";
export { type FieldRule, type GroupKind, type SchemaNode, withObjectMeta } from "./_schema.ts";
export {
  type ApplyOptions,
  type ApplyResult,
  BEFORE_FIRST_APPLY,
  serverSideApply,
} from "./apply.ts";
export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./json.ts";
export {
  type ManagedFieldsEntry,
  type RecordUpdateOptions,
  recordUpdate,
} from "./managed.ts";
export { applyMergePatch, mergePatchValue } from "./merge.ts";
export { applyStrategicMergePatch, supportsStrategicMergePatch } from "./strategic.ts";
