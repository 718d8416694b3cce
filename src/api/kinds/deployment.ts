/**
 * apps/v1 deployments: SetDefaults_Deployment (replicas 1, RollingUpdate 25%/25%,
 * revisionHistoryLimit 10, progressDeadlineSeconds 600, pod template defaults), ValidateDeployment
 * with kube's messages, the immutable apps/v1 selector, and the `kubectl get deploy` columns.
 *
 * @module
 */

import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goIntOrString } from "./_gofmt.ts";
import { selectorString } from "./_selector.ts";
import { at, child, isObj, num, type Obj, semanticEqual, setDefault } from "./_util.ts";
import {
  dropDisabledTemplateFields,
  intOrPercent,
  nonNegative,
  templateRowTail,
  validatePositiveIntOrPercent,
  validateSelectorAndTemplate,
  workloadValidation,
} from "./_workload.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import type { KindStrategy } from "./types.ts";

export function defaultDeployment(d: Obj): void {
  const spec = child(d, "spec");
  setDefault(spec, "replicas", 1);
  const strategy = child(spec, "strategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const ru = child(strategy, "rollingUpdate");
    setDefault(ru, "maxUnavailable", "25%");
    setDefault(ru, "maxSurge", "25%");
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  defaultPodTemplate(spec.template);
}

function validateStrategy(strategy: unknown): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isObj(strategy) ? strategy : {};
  switch (s.type) {
    case "Recreate":
      if (s.rollingUpdate !== undefined && s.rollingUpdate !== null) {
        errs.push(
          fieldForbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
          ),
        );
      }
      break;
    case "RollingUpdate": {
      const ru = s.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(
          fieldRequired("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"),
        );
        break;
      }
      errs.push(
        ...validatePositiveIntOrPercent(
          ru.maxUnavailable,
          "spec.strategy.rollingUpdate.maxUnavailable",
        ),
      );
      errs.push(
        ...validatePositiveIntOrPercent(ru.maxSurge, "spec.strategy.rollingUpdate.maxSurge"),
      );
      const mu = intOrPercent(ru.maxUnavailable);
      const ms = intOrPercent(ru.maxSurge);
      if (mu.valid && ms.valid && mu.value === 0 && ms.value === 0) {
        errs.push(
          invalidRaw(
            "spec.strategy.rollingUpdate.maxUnavailable",
            goIntOrString(ru.maxUnavailable),
            "may not be 0 when `maxSurge` is 0",
          ),
        );
      }
      if (mu.valid && mu.percent && mu.value > 100) {
        errs.push(
          invalidRaw(
            "spec.strategy.rollingUpdate.maxUnavailable",
            goIntOrString(ru.maxUnavailable),
            "must not be greater than 100%",
          ),
        );
      }
      break;
    }
    default:
      errs.push(fieldNotSupported("spec.strategy", s, ["Recreate", "RollingUpdate"]));
  }
  return errs;
}

function validateDeploymentSpec(spec: Obj): FieldError[] {
  const errs = [
    ...nonNegative(spec.replicas, "spec.replicas"),
    ...validateSelectorAndTemplate(spec, "deployment", "ReplicaSet"),
    ...validateStrategy(spec.strategy),
    ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"),
  ];
  const pds = spec.progressDeadlineSeconds;
  if (typeof pds === "number") {
    errs.push(...nonNegative(pds, "spec.progressDeadlineSeconds"));
    if (pds <= num(spec.minReadySeconds)) {
      errs.push(
        fieldInvalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"),
      );
    }
  }
  return errs;
}

export const deploymentStrategy: KindStrategy = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  resource: "deployments",
  singular: "deployment",
  shortNames: ["deploy"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultDeployment(obj as Obj);
  },
  prepareForCreate(obj) {
    // Users cannot create status; the controller fills it in.
    delete obj.status;
    dropDisabledTemplateFields(obj);
  },
  prepareForUpdate(obj, old) {
    dropDisabledTemplateFields(obj, old);
  },
  generationChanged(obj, old) {
    return (
      !semanticEqual(obj.spec, old.spec) ||
      !semanticEqual(obj.metadata.annotations, old.metadata.annotations)
    );
  },
  ...workloadValidation(validateDeploymentSpec, { selectorImmutable: true }),
  columns: [
    NAME,
    column("Ready", "string", "Number of the pod with ready state"),
    column(
      "Up-to-date",
      "string",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    column(
      "Available",
      "string",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    column(
      "Selector",
      "string",
      "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
      1,
    ),
  ],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      `${num(at(obj, "status", "readyReplicas"))}/${num(at(obj, "spec", "replicas"))}`,
      num(at(obj, "status", "updatedReplicas")),
      num(at(obj, "status", "availableReplicas")),
      ...templateRowTail(obj, now, selectorString),
    ];
  },
};
