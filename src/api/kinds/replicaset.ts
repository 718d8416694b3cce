/**
 * apps/v1 replicasets: replicas default 1 plus pod template defaults, ValidateReplicaSet, the
 * immutable apps/v1 selector, `kubectl get rs` columns and the `status.replicas` field selector.
 *
 * @module
 */

import type { FieldError } from "../errors.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { selectorString } from "./_selector.ts";
import { at, child, num, type Obj, setDefault } from "./_util.ts";
import {
  dropDisabledTemplateFields,
  nonNegative,
  templateRowTail,
  validateSelectorAndTemplate,
  workloadValidation,
} from "./_workload.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import type { KindStrategy } from "./types.ts";

function validateReplicaSetSpec(spec: Obj): FieldError[] {
  return [
    ...nonNegative(spec.replicas, "spec.replicas"),
    ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ...validateSelectorAndTemplate(spec, "deployment", "ReplicaSet"),
  ];
}

export const replicaSetStrategy: KindStrategy = {
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  resource: "replicasets",
  singular: "replicaset",
  shortNames: ["rs"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    const spec = child(obj as Obj, "spec");
    setDefault(spec, "replicas", 1);
    defaultPodTemplate(spec.template);
  },
  prepareForCreate(obj) {
    // Users cannot create status; the controller fills it in.
    delete obj.status;
    dropDisabledTemplateFields(obj);
  },
  prepareForUpdate(obj, old) {
    dropDisabledTemplateFields(obj, old);
  },
  ...workloadValidation(validateReplicaSetSpec, { selectorImmutable: true }),
  columns: [
    NAME,
    column(
      "Desired",
      "integer",
      "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    column(
      "Current",
      "integer",
      "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    column(
      "Ready",
      "integer",
      "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    column(
      "Selector",
      "string",
      "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
      1,
    ),
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      num(at(obj, "spec", "replicas")),
      num(at(obj, "status", "replicas")),
      num(at(obj, "status", "readyReplicas")),
      ...templateRowTail(obj, now, selectorString),
    ];
  },
  selectableFields(obj) {
    return { "status.replicas": String(num(at(obj, "status", "replicas"))) };
  },
};
