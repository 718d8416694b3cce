/**
 * Label and field selection for list, watch and deletecollection. Field selectors support
 * `metadata.name`, `metadata.namespace` and what the kind's strategy declares; anything else is
 * a BadRequest, as kube-apiserver answers.
 *
 * @module
 */
import { badRequest } from "../../api/errors.ts";
import {
  type FieldSelector,
  fieldsMatch,
  parseFieldSelector,
  selectorFields,
} from "../../api/fields.ts";
import type { KindStrategy } from "../../api/kinds/types.ts";
import { type LabelSelector, matches, parseLabelSelector } from "../../api/labels.ts";
import type { KubeObject } from "../../api/types.ts";

export type ObjectPredicate = (obj: KubeObject) => boolean;

function objectFields(strategy: KindStrategy, obj: KubeObject): Record<string, string> {
  const f: Record<string, string> = {
    "metadata.name": obj.metadata.name ?? "",
    "metadata.namespace": obj.metadata.namespace ?? "",
  };
  return strategy.selectableFields ? { ...strategy.selectableFields(obj), ...f } : f;
}

/** Compiles the selectors of a request into one predicate (undefined: everything matches). */
export function compileSelectors(
  strategy: KindStrategy,
  options: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
): ObjectPredicate | undefined {
  let labels: LabelSelector | undefined;
  let fields: FieldSelector | undefined;
  if (options.labelSelector) labels = parseLabelSelector(options.labelSelector);
  if (options.fieldSelector) {
    fields = parseFieldSelector(options.fieldSelector);
    const sample: KubeObject = { metadata: {} };
    const known = new Set(Object.keys(objectFields(strategy, sample)));
    if (strategy.selectableFields)
      for (const k of Object.keys(strategy.selectableFields(sample))) known.add(k);
    for (const f of selectorFields(fields)) {
      if (!known.has(f)) throw badRequest(`field label not supported: ${f}`);
    }
  }
  if (!labels && !fields) return undefined;
  return (obj) =>
    (!labels || matches(labels, obj.metadata.labels)) &&
    (!fields || fieldsMatch(fields, objectFields(strategy, obj)));
}
