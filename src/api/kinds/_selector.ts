/**
 * metav1.LabelSelector as the workload strategies need it: validation with apimachinery's
 * messages, matching against a label set, and the `labels.Selector.String()` form the printers
 * show (`app=web,tier in (a,b)`). An absent selector matches nothing; an empty one everything.
 *
 * @module
 */
import { type FieldError, fieldForbidden, fieldNotSupported, fieldRequired } from "../errors.ts";
import { arr, isObj, objs, str, strMap } from "./_util.ts";
import { validateLabelKey, validateLabels } from "./meta.ts";

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

export function validateLabelSelector(sel: unknown, path: string): FieldError[] {
  if (!isObj(sel)) return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  objs(sel.matchExpressions).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const op = str(e.operator);
    const values = arr(e.values);
    if (op === "In" || op === "NotIn") {
      if (values.length === 0) {
        errs.push(
          fieldRequired(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
    } else if (op === "Exists" || op === "DoesNotExist") {
      if (values.length > 0) {
        errs.push(
          fieldForbidden(
            `${p}.values`,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
    } else {
      errs.push(fieldNotSupported(`${p}.operator`, op, OPERATORS));
    }
    errs.push(...validateLabelKey(str(e.key), `${p}.key`));
  });
  return errs;
}

/** True when the selector has neither matchLabels nor matchExpressions. */
export function selectorIsEmpty(sel: unknown): boolean {
  if (!isObj(sel)) return true;
  return (
    Object.keys(strMap(sel.matchLabels)).length === 0 && objs(sel.matchExpressions).length === 0
  );
}

export function selectorMatches(sel: unknown, labels: unknown): boolean {
  if (!isObj(sel)) return false;
  const set = strMap(labels);
  for (const [k, v] of Object.entries(strMap(sel.matchLabels))) if (set[k] !== v) return false;
  for (const e of objs(sel.matchExpressions)) {
    const key = str(e.key);
    const has = Object.hasOwn(set, key);
    const values = arr(e.values).map(str);
    switch (str(e.operator)) {
      case "In":
        if (!has || !values.includes(set[key] ?? "")) return false;
        break;
      case "NotIn":
        if (has && values.includes(set[key] ?? "")) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** labels.Selector.String(): requirements sorted by key, values sorted; `` for an empty one. */
export function selectorString(sel: unknown): string {
  if (!isObj(sel)) return "<none>";
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(strMap(sel.matchLabels)))
    reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of objs(sel.matchExpressions)) {
    const key = str(e.key);
    const values = [...new Set(arr(e.values).map(str))].sort().join(",");
    const op = str(e.operator);
    if (op === "In") reqs.push({ key, text: `${key} in (${values})` });
    else if (op === "NotIn") reqs.push({ key, text: `${key} notin (${values})` });
    else if (op === "Exists") reqs.push({ key, text: key });
    else if (op === "DoesNotExist") reqs.push({ key, text: `!${key}` });
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(",");
}
