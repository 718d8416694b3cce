/**
 * Validation of tolerations (pods, RuntimeClass scheduling) and node taints, as kube's
 * `ValidateTolerations` and `validateNodeTaints` word it:
 * - a toleration's key, when set, is a qualified name; an empty key needs `operator: Exists`;
 *   `Exists` takes no value, `Equal` (or empty) a label value; `tolerationSeconds` only with
 *   `NoExecute`; the effect, when set, is NoSchedule, PreferNoSchedule or NoExecute;
 * - a taint has a qualified-name key, a label value, a required effect, and no two taints share
 *   key and effect.
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { isQualifiedName, isValidLabelValue } from "../validation.ts";
import { objs, str } from "./_util.ts";

const EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function validateEffect(effect: unknown, allowEmpty: boolean, path: string): FieldError[] {
  const e = str(effect);
  if (e === "") return allowEmpty ? [] : [fieldRequired(path)];
  return EFFECTS.includes(e) ? [] : [fieldNotSupported(path, e, EFFECTS)];
}

export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objs(tolerations).forEach((t, i) => {
    const at = `${path}[${i}]`;
    const key = str(t.key);
    const operator = str(t.operator);
    if (key !== "")
      for (const m of isQualifiedName(key)) errs.push(fieldInvalid(`${at}.key`, key, m));
    if (key === "" && operator !== "Exists") {
      errs.push(
        fieldInvalid(
          `${at}.operator`,
          operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (
      t.tolerationSeconds !== undefined &&
      t.tolerationSeconds !== null &&
      t.effect !== "NoExecute"
    ) {
      errs.push(
        fieldInvalid(
          `${at}.effect`,
          str(t.effect),
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
    if (operator === "Equal" || operator === "") {
      const problems = isValidLabelValue(str(t.value));
      if (problems.length > 0)
        errs.push(fieldInvalid(`${at}.operator`, str(t.value), problems.join(";")));
    } else if (operator === "Exists") {
      if (str(t.value) !== "") {
        errs.push(
          fieldInvalid(`${at}.operator`, t, "value must be empty when `operator` is 'Exists'"),
        );
      }
    } else {
      errs.push(fieldNotSupported(`${at}.operator`, operator, ["Equal", "Exists"]));
    }
    errs.push(...validateEffect(t.effect, true, `${at}.effect`));
  });
  return errs;
}

export function validateTaints(taints: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  objs(taints).forEach((t, i) => {
    const at = `${path}[${i}]`;
    const key = str(t.key);
    for (const m of isQualifiedName(key)) errs.push(fieldInvalid(`${at}.key`, key, m));
    const problems = isValidLabelValue(str(t.value));
    if (problems.length > 0)
      errs.push(fieldInvalid(`${at}.value`, str(t.value), problems.join(";")));
    errs.push(...validateEffect(t.effect, false, `${at}.effect`));
    const pair = `${str(t.effect)}\0${key}`;
    if (seen.has(pair)) {
      const dup = fieldDuplicate(at, t);
      errs.push({
        ...dup,
        message: `${dup.message}: taints must be unique by key and effect pair`,
      });
      return;
    }
    seen.add(pair);
  });
  return errs;
}
