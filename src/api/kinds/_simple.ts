/**
 * The shape most strategies share: metadata validation by the kind's name rule plus optional
 * spec checks, and no update rules beyond metadata unless given.
 *
 * @module
 */
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { type NameRule, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";

export interface SimpleValidation {
  namespaced: boolean;
  nameRule: NameRule;
  spec?: (obj: KubeObject) => FieldError[];
  update?: (obj: KubeObject, old: KubeObject) => FieldError[];
}

export function simpleValidators(v: SimpleValidation): {
  validate(obj: KubeObject): FieldError[];
  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[];
} {
  return {
    validate(obj) {
      return [
        ...validateObjectMeta(obj.metadata, { namespaced: v.namespaced, nameRule: v.nameRule }),
        ...(v.spec?.(obj) ?? []),
      ];
    },
    validateUpdate(obj, old) {
      return [
        ...validateObjectMetaUpdate(obj.metadata, old.metadata),
        ...(v.spec?.(obj) ?? []),
        ...(v.update?.(obj, old) ?? []),
      ];
    },
  };
}
