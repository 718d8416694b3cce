/**
 * apps/v1 daemonsets: SetDefaults_DaemonSet (RollingUpdate with maxUnavailable 1 and maxSurge 0,
 * revisionHistoryLimit 10, pod template defaults), ValidateDaemonSet with kube's messages, the
 * immutable apps/v1 selector, and the `kubectl get ds` columns of kube 1.32.
 *
 * The template generation: kube keeps `spec.templateGeneration` internally and shows it on
 * apps/v1 as the annotation `deprecated.daemonset.template.generation`. The server owns it: 1 on
 * create (or the client's value when higher), the stored value on update, plus one when the pod
 * template changes. The controller labels its pods with it (`pod-template-generation`).
 *
 * Gated pod fields are dropped from the template as from pods (`dropDisabledTemplateFields`).
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldNotSupported, fieldRequired } from "../errors.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goIntOrString } from "./_gofmt.ts";
import { selectorString } from "./_selector.ts";
import {
  at,
  child,
  containerCells,
  formatLabels,
  isObj,
  num,
  type Obj,
  semanticEqual,
  setDefault,
} from "./_util.ts";
import {
  dropDisabledTemplateFields,
  intOrPercent,
  nonNegative,
  validatePositiveIntOrPercent,
  validateSelectorAndTemplate,
  workloadValidation,
} from "./_workload.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import type { KindStrategy } from "./types.ts";

/** The annotation that carries a DaemonSet's template generation on apps/v1. */
export const TEMPLATE_GENERATION = "deprecated.daemonset.template.generation";

export function defaultDaemonSet(ds: Obj): void {
  const spec = child(ds, "spec");
  const strategy = child(spec, "updateStrategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const rolling = child(strategy, "rollingUpdate");
    setDefault(rolling, "maxUnavailable", 1);
    setDefault(rolling, "maxSurge", 0);
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(spec.template);
}

/** The template generation an object's annotation holds, or 0. */
export function templateGeneration(obj: { metadata?: unknown }): number {
  const v = Number(at(obj, "metadata", "annotations", TEMPLATE_GENERATION));
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

function setTemplateGeneration(obj: Obj, generation: number): void {
  const meta = child(obj, "metadata");
  meta.annotations = { ...(isObj(meta.annotations) ? meta.annotations : {}) };
  (meta.annotations as Obj)[TEMPLATE_GENERATION] = String(generation);
}

const percentOver100 = (v: unknown) => {
  const p = intOrPercent(v);
  return p.valid && p.percent && p.value > 100;
};

function validateUpdateStrategy(strategy: unknown): FieldError[] {
  const path = "spec.updateStrategy";
  const s: Obj = isObj(strategy) ? strategy : {};
  switch (s.type) {
    case "OnDelete":
      return [];
    case "RollingUpdate": {
      const rolling = s.rollingUpdate;
      if (!isObj(rolling)) return [fieldRequired(`${path}.rollingUpdate`)];
      const unavailablePath = `${path}.rollingUpdate.maxUnavailable`;
      const surgePath = `${path}.rollingUpdate.maxSurge`;
      const errs = [
        ...validatePositiveIntOrPercent(rolling.maxUnavailable, unavailablePath),
        ...validatePositiveIntOrPercent(rolling.maxSurge, surgePath),
      ];
      for (const [value, field] of [
        [rolling.maxUnavailable, unavailablePath],
        [rolling.maxSurge, surgePath],
      ] as const) {
        if (percentOver100(value))
          errs.push(invalidRaw(field, goIntOrString(value), "must not be greater than 100%"));
      }
      const hasUnavailable = intOrPercent(rolling.maxUnavailable).value !== 0;
      const hasSurge = intOrPercent(rolling.maxSurge).value !== 0;
      if (hasUnavailable && hasSurge)
        errs.push(
          invalidRaw(
            surgePath,
            goIntOrString(rolling.maxSurge),
            "may not be set when maxUnavailable is non-zero",
          ),
        );
      else if (!hasUnavailable && !hasSurge)
        errs.push(fieldRequired(unavailablePath, "cannot be 0 when maxSurge is 0"));
      return errs;
    }
    default:
      return [fieldNotSupported(path, s, ["RollingUpdate", "OnDelete"])];
  }
}

function validateDaemonSetSpec(spec: Obj): FieldError[] {
  return [
    ...validateSelectorAndTemplate(spec, "daemonset", "DaemonSet"),
    ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ...validateUpdateStrategy(spec.updateStrategy),
    ...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"),
  ];
}

export const daemonSetStrategy: KindStrategy = {
  group: "apps",
  version: "v1",
  kind: "DaemonSet",
  resource: "daemonsets",
  singular: "daemonset",
  shortNames: ["ds"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultDaemonSet(obj as Obj);
  },
  prepareForCreate(obj) {
    // Users cannot create status; the controller fills it in. Go writes these four even at 0.
    obj.status = {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    };
    dropDisabledTemplateFields(obj);
    setTemplateGeneration(obj as Obj, Math.max(1, templateGeneration(obj)));
  },
  prepareForUpdate(obj, old) {
    // Defaulted first, so that a client omitting defaults does not look like a template change.
    defaultDaemonSet(obj as Obj);
    dropDisabledTemplateFields(obj, old);
    const changed = !semanticEqual(at(obj, "spec", "template"), at(old, "spec", "template"));
    setTemplateGeneration(obj as Obj, Math.max(1, templateGeneration(old)) + (changed ? 1 : 0));
  },
  ...workloadValidation(validateDaemonSetSpec, { selectorImmutable: true }),
  columns: [
    NAME,
    column(
      "Desired",
      "integer",
      "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    column(
      "Current",
      "integer",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    column(
      "Ready",
      "integer",
      "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
    ),
    column(
      "Up-to-date",
      "integer",
      "The total number of nodes that are running updated daemon pod",
    ),
    column(
      "Available",
      "integer",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    column(
      "Node Selector",
      "string",
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    column(
      "Selector",
      "string",
      "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
      1,
    ),
  ],
  row(obj, now) {
    const podSpec = at(obj, "spec", "template", "spec");
    const [containers, images] = containerCells(podSpec);
    return [
      obj.metadata.name ?? "",
      num(at(obj, "status", "desiredNumberScheduled")),
      num(at(obj, "status", "currentNumberScheduled")),
      num(at(obj, "status", "numberReady")),
      num(at(obj, "status", "updatedNumberScheduled")),
      num(at(obj, "status", "numberAvailable")),
      formatLabels(at(podSpec, "nodeSelector")),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
      containers,
      images,
      selectorString(at(obj, "spec", "selector")),
    ];
  },
};
