/**
 * v1 replicationcontrollers: SetDefaults_ReplicationController (the selector and the labels from
 * the template's labels when empty, replicas 1, pod template defaults), ValidateReplicationController
 * with kube's messages (a map selector that must not be empty and must match the template's
 * labels; the selector may change, unlike apps/v1's), the `kubectl get rc` columns, and gated pod
 * fields dropped from the template as from pods.
 *
 * @module
 */

import { type FieldError, fieldForbidden, fieldNotSupported, fieldRequired } from "../errors.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goStringMap } from "./_gofmt.ts";
import { at, child, formatLabels, isObj, num, type Obj, setDefault, strMap } from "./_util.ts";
import {
  dropDisabledTemplateFields,
  nonNegative,
  templateRowTail,
  workloadValidation,
} from "./_workload.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import { validatePodTemplate } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

export function defaultReplicationController(rc: Obj): void {
  const spec = child(rc, "spec");
  const labels = at(spec, "template", "metadata", "labels");
  if (isObj(labels)) {
    if (Object.keys(strMap(spec.selector)).length === 0) spec.selector = { ...labels };
    const meta = child(rc, "metadata");
    if (Object.keys(strMap(meta.labels)).length === 0) meta.labels = { ...labels };
  }
  setDefault(spec, "replicas", 1);
  defaultPodTemplate(spec.template);
}

function validateSpec(spec: Obj): FieldError[] {
  const errs = [...nonNegative(spec.minReadySeconds, "spec.minReadySeconds")];
  const selector = strMap(spec.selector);
  const empty = Object.keys(selector).length === 0;
  if (empty) errs.push(fieldRequired("spec.selector"));
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  const template = spec.template;
  if (!isObj(template)) {
    errs.push(fieldRequired("spec.template"));
    return errs;
  }
  const labels = strMap(at(template, "metadata", "labels"));
  if (!empty && Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
    errs.push(
      invalidRaw(
        "spec.template.metadata.labels",
        goStringMap(at(template, "metadata", "labels")),
        "`selector` does not match template `labels`",
      ),
    );
  }
  errs.push(...validatePodTemplate(template, "spec.template"));
  const restartPolicy = at(template, "spec", "restartPolicy");
  if (restartPolicy !== "Always")
    errs.push(
      fieldNotSupported("spec.template.spec.restartPolicy", restartPolicy ?? "", ["Always"]),
    );
  if (at(template, "spec", "activeDeadlineSeconds") !== undefined)
    errs.push(
      fieldForbidden(
        "spec.template.spec.activeDeadlineSeconds",
        "activeDeadlineSeconds in ReplicationController is not Supported",
      ),
    );
  return errs;
}

export const replicationControllerStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "ReplicationController",
  resource: "replicationcontrollers",
  singular: "replicationcontroller",
  shortNames: ["rc"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultReplicationController(obj as Obj);
  },
  prepareForCreate(obj) {
    // Users cannot create status; Go writes `replicas` even at 0.
    obj.status = { replicas: 0 };
    dropDisabledTemplateFields(obj);
  },
  prepareForUpdate(obj, old) {
    dropDisabledTemplateFields(obj, old);
  },
  ...workloadValidation(validateSpec, { selectorImmutable: false }),
  columns: [
    NAME,
    column(
      "Desired",
      "integer",
      "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    column(
      "Current",
      "integer",
      "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    column("Ready", "integer", "The number of ready replicas for this replication controller."),
    AGE,
    CONTAINERS,
    IMAGES,
    column(
      "Selector",
      "string",
      "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
      1,
    ),
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      num(at(obj, "spec", "replicas")),
      num(at(obj, "status", "replicas")),
      num(at(obj, "status", "readyReplicas")),
      ...templateRowTail(obj, now, formatLabels),
    ];
  },
  selectableFields(obj) {
    return { "status.replicas": String(num(at(obj, "status", "replicas"))) };
  },
};
