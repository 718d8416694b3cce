/**
 * What the pod-template workloads (Deployments, ReplicaSets, StatefulSets, DaemonSets,
 * ReplicationControllers) share: `validate`/`validateUpdate` and the row's template cells, the
 * selector rules (required, valid, non-empty, matching the template's labels), the pod template
 * rules for controllers (restartPolicy Always, no activeDeadlineSeconds), the apps/v1 selector
 * immutability and the wide-table cells, the count-or-percentage fields of rolling updates, and
 * the gated pod fields dropped from templates.
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { invalidRaw } from "./_errors.ts";
import { goIntOrString, goLabelSelector, goStringMap } from "./_gofmt.ts";
import { selectorIsEmpty, selectorMatches, validateLabelSelector } from "./_selector.ts";
import { at, containerCells, isObj, num, type Obj, semanticEqual } from "./_util.ts";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { dropDisabledPodFields } from "./pod_gates.ts";
import { validatePodTemplate } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

export function nonNegative(value: unknown, path: string): FieldError[] {
  return typeof value === "number" && value < 0
    ? [fieldInvalid(path, value, "must be greater than or equal to 0")]
    : [];
}

/**
 * spec.selector and spec.template for a replicated workload; `what` names the kind in the
 * empty-selector message (kube says "deployment" for ReplicaSets too).
 */
export function validateSelectorAndTemplate(
  spec: Obj,
  what: string,
  kindName: string,
): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (!isObj(sel)) errs.push(fieldRequired("spec.selector"));
  else {
    errs.push(...validateLabelSelector(sel, "spec.selector"));
    if (selectorIsEmpty(sel))
      errs.push(
        invalidRaw("spec.selector", goLabelSelector(sel), `empty selector is invalid for ${what}`),
      );
  }
  const template = spec.template;
  if (!isObj(template)) {
    errs.push(fieldRequired("spec.template"));
    return errs;
  }
  const labels = at(template, "metadata", "labels");
  if (isObj(sel) && !selectorIsEmpty(sel) && !selectorMatches(sel, labels)) {
    errs.push(
      invalidRaw(
        "spec.template.metadata.labels",
        goStringMap(labels),
        "`selector` does not match template `labels`",
      ),
    );
  }
  errs.push(...validatePodTemplate(template, "spec.template"));
  const restartPolicy = at(template, "spec", "restartPolicy");
  if (restartPolicy !== "Always") {
    errs.push(
      fieldNotSupported("spec.template.spec.restartPolicy", restartPolicy ?? "", ["Always"]),
    );
  }
  if (at(template, "spec", "activeDeadlineSeconds") !== undefined) {
    errs.push(
      fieldForbidden(
        "spec.template.spec.activeDeadlineSeconds",
        `activeDeadlineSeconds in ${kindName} is not Supported`,
      ),
    );
  }
  return errs;
}

/** apps/v1 makes spec.selector immutable. */
export function selectorImmutable(spec: unknown, oldSpec: unknown): FieldError[] {
  const now = at(spec, "selector");
  const before = at(oldSpec, "selector");
  if (semanticEqual(now, before)) return [];
  return [invalidRaw("spec.selector", goLabelSelector(now), "field is immutable")];
}

/** An IntOrString as kube reads a count or a percentage (`"25%"`). */
export function intOrPercent(v: unknown): { value: number; percent: boolean; valid: boolean } {
  if (typeof v === "string") {
    const m = /^([0-9]+)%$/.exec(v);
    return m
      ? { value: Number(m[1]), percent: true, valid: true }
      : { value: 0, percent: true, valid: false };
  }
  return { value: num(v), percent: false, valid: true };
}

/** apps validation's ValidatePositiveIntOrPercent. */
export function validatePositiveIntOrPercent(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  const p = intOrPercent(v);
  if (!p.valid)
    return [invalidRaw(path, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
  if (!p.percent && p.value < 0)
    return [fieldInvalid(path, p.value, "must be greater than or equal to 0")];
  return [];
}

/**
 * kube's DropDisabledTemplateFields: the pod template (`spec.template`) loses the fields of gates
 * 1.32 has off, unless the stored object's template (`old`, on update) already uses them.
 */
export function dropDisabledTemplateFields(obj: unknown, old?: unknown): void {
  const template = at(obj, "spec", "template");
  const oldTemplate = at(old, "spec", "template");
  if (isObj(template))
    dropDisabledPodFields(template, isObj(oldTemplate) ? oldTemplate : undefined);
}

/**
 * A namespaced workload's `validate` and `validateUpdate`: object metadata and the kind's spec
 * rules, plus, for apps/v1 kinds, the immutable selector (a ReplicationController's may change).
 */
export function workloadValidation(
  validateSpec: (spec: Obj) => FieldError[],
  options: { selectorImmutable: boolean },
): Pick<KindStrategy, "validate" | "validateUpdate"> {
  return {
    validate: (obj) => [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validateSpec(isObj(obj.spec) ? obj.spec : {}),
    ],
    validateUpdate: (obj, old) => [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateSpec(isObj(obj.spec) ? obj.spec : {}),
      ...(options.selectorImmutable ? selectorImmutable(obj.spec, old.spec) : []),
    ],
  };
}

/**
 * The cells every pod-template kind ends its row with: AGE, then CONTAINERS, IMAGES and the
 * selector (wide), the selector printed as the kind's printer prints it.
 */
export function templateRowTail(
  obj: { metadata: { creationTimestamp?: string | undefined }; spec?: unknown },
  now: number,
  selector: (s: unknown) => string,
): unknown[] {
  const [containers, images] = containerCells(at(obj, "spec", "template", "spec"));
  return [
    sinceTimestamp(obj.metadata.creationTimestamp, now),
    containers,
    images,
    selector(at(obj, "spec", "selector")),
  ];
}
