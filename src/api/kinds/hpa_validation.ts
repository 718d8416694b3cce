/**
 * HorizontalPodAutoscaler validation as kube-apiserver 1.32's (`pkg/apis/autoscaling/
 * validation`), on the stored `autoscaling/v2` shape (kube validates its internal version, so v1
 * requests see the same paths: a v1 `targetCPUUtilizationPercentage: 0` is reported at
 * `spec.metrics[0].resource.target.averageUtilization`). HPAScaleToZero is off, as by default:
 * `minReplicas` must be at least 1, unless an update keeps an object that already had 0.
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
import { parseQuantity } from "../quantity.ts";
import { isDNS1123Label } from "../validation.ts";
import { invalidRaw } from "./_errors.ts";
import { isObj, type Obj, objs } from "./_util.ts";

/** Largest policy period and stabilization window kube accepts, in seconds. */
export const MAX_PERIOD_SECONDS = 1800;
export const MAX_STABILIZATION_WINDOW_SECONDS = 3600;

const SELECT_POLICIES = ["Disabled", "Max", "Min"];
const POLICY_TYPES = ["Percent", "Pods"];
const SOURCE_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"];

/** pathvalidation.IsValidPathSegmentName. */
function pathSegmentProblems(name: string): string[] {
  const errs: string[] = [];
  if (name === ".") errs.push("may not be '.'");
  if (name === "..") errs.push("may not be '..'");
  if (name.includes("/")) errs.push("may not contain '/'");
  if (name.includes("%")) errs.push("may not contain '%'");
  return errs;
}

export function validateCrossVersionObjectReference(ref: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const r: Obj = isObj(ref) ? ref : {};
  for (const key of ["kind", "name"] as const) {
    const v = typeof r[key] === "string" ? (r[key] as string) : "";
    if (v === "") errs.push(fieldRequired(`${path}.${key}`));
    else for (const m of pathSegmentProblems(v)) errs.push(fieldInvalid(`${path}.${key}`, v, m));
  }
  return errs;
}

function sign(q: unknown): number {
  try {
    return Math.sign(parseQuantity(q as string | number));
  } catch {
    return 0;
  }
}

/** A Quantity value as the error shows it (Go prints the dereferenced struct; we show the text). */
const quantityText = (q: unknown) => JSON.stringify(String(q));

const present = (v: unknown) => v !== undefined && v !== null;

function validateMetricTarget(target: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const t: Obj = isObj(target) ? target : {};
  const type = typeof t.type === "string" ? t.type : "";
  if (type === "") errs.push(fieldRequired(`${path}.type`, "must specify a metric target type"));
  if (type !== "Utilization" && type !== "Value" && type !== "AverageValue") {
    errs.push(
      fieldInvalid(`${path}.type`, type, "must be either Utilization, Value, or AverageValue"),
    );
  }
  for (const key of ["value", "averageValue"] as const) {
    if (present(t[key]) && sign(t[key]) !== 1) {
      errs.push(invalidRaw(`${path}.${key}`, quantityText(t[key]), "must be positive"));
    }
  }
  if (typeof t.averageUtilization === "number" && t.averageUtilization < 1) {
    errs.push(
      fieldInvalid(`${path}.averageUtilization`, t.averageUtilization, "must be greater than 0"),
    );
  }
  return errs;
}

function validateMetricIdentifier(metric: unknown, path: string): FieldError[] {
  const name = isObj(metric) && typeof metric.name === "string" ? metric.name : "";
  if (name === "") return [fieldRequired(`${path}.name`, "must specify a metric name")];
  return pathSegmentProblems(name).map((m) => fieldInvalid(`${path}.name`, name, m));
}

function validateObjectSource(src: Obj, path: string): FieldError[] {
  const errs = [
    ...validateCrossVersionObjectReference(src.describedObject, `${path}.describedObject`),
    ...validateMetricIdentifier(src.metric, `${path}.metric`),
    ...validateMetricTarget(src.target, `${path}.target`),
  ];
  const t: Obj = isObj(src.target) ? src.target : {};
  if (!present(t.value) && !present(t.averageValue)) {
    errs.push(
      fieldRequired(
        `${path}.target.averageValue`,
        "must set either a target value or averageValue",
      ),
    );
  }
  return errs;
}

function validateExternalSource(src: Obj, path: string): FieldError[] {
  const errs = [
    ...validateMetricIdentifier(src.metric, `${path}.metric`),
    ...validateMetricTarget(src.target, `${path}.target`),
  ];
  const t: Obj = isObj(src.target) ? src.target : {};
  if (!present(t.value) && !present(t.averageValue)) {
    errs.push(
      fieldRequired(
        `${path}.target.averageValue`,
        "must set either a target value for metric or a per-pod target",
      ),
    );
  }
  if (present(t.value) && present(t.averageValue)) {
    errs.push(
      fieldForbidden(
        `${path}.target.value`,
        "may not set both a target value for metric and a per-pod target",
      ),
    );
  }
  return errs;
}

function validatePodsSource(src: Obj, path: string): FieldError[] {
  const errs = [
    ...validateMetricIdentifier(src.metric, `${path}.metric`),
    ...validateMetricTarget(src.target, `${path}.target`),
  ];
  const t: Obj = isObj(src.target) ? src.target : {};
  if (!present(t.averageValue)) {
    errs.push(
      fieldRequired(`${path}.target.averageValue`, "must specify a positive target averageValue"),
    );
  }
  return errs;
}

function utilizationOrValue(t: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!present(t.averageUtilization) && !present(t.averageValue)) {
    errs.push(
      fieldRequired(
        `${path}.target.averageUtilization`,
        "must set either a target raw value or a target utilization",
      ),
    );
  }
  if (present(t.averageUtilization) && present(t.averageValue)) {
    errs.push(
      fieldForbidden(
        `${path}.target.averageValue`,
        "may not set both a target raw value and a target utilization",
      ),
    );
  }
  return errs;
}

function validateResourceSource(src: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (typeof src.name !== "string" || src.name === "") {
    errs.push(fieldRequired(`${path}.name`, "must specify a resource name"));
  }
  errs.push(...validateMetricTarget(src.target, `${path}.target`));
  errs.push(...utilizationOrValue(isObj(src.target) ? src.target : {}, path));
  return errs;
}

const CONTAINER_RESOURCES = ["cpu", "memory", "ephemeral-storage"];

function validateContainerResourceSource(src: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = typeof src.name === "string" ? src.name : "";
  if (name === "") errs.push(fieldRequired(`${path}.name`, "must specify a resource name"));
  else if (!CONTAINER_RESOURCES.includes(name) && !name.includes("/")) {
    // ValidateContainerResourceName: a standard container resource or a qualified extended one.
    errs.push(fieldInvalid(`${path}.name`, name, "must be a standard resource for containers"));
  }
  const container = typeof src.container === "string" ? src.container : "";
  if (container === "") errs.push(fieldRequired(`${path}.container`, "must specify a container"));
  else
    for (const m of isDNS1123Label(container))
      errs.push(fieldInvalid(`${path}.container`, container, m));
  errs.push(...validateMetricTarget(src.target, `${path}.target`));
  errs.push(...utilizationOrValue(isObj(src.target) ? src.target : {}, path));
  return errs;
}

const SOURCES: ReadonlyArray<[string, string, (src: Obj, path: string) => FieldError[]]> = [
  ["object", "Object", validateObjectSource],
  ["external", "External", validateExternalSource],
  ["pods", "Pods", validatePodsSource],
  ["resource", "Resource", validateResourceSource],
  ["containerResource", "ContainerResource", validateContainerResourceSource],
];

function validateMetricSpec(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const type = typeof spec.type === "string" ? spec.type : "";
  if (type === "") errs.push(fieldRequired(`${path}.type`, "must specify a metric source type"));
  if (!SOURCE_TYPES.includes(type))
    errs.push(fieldNotSupported(`${path}.type`, type, SOURCE_TYPES));
  const present: string[] = [];
  for (const [key, , validate] of SOURCES) {
    const src = spec[key];
    if (!isObj(src)) continue;
    present.push(key);
    if (present.length === 1) errs.push(...validate(src, `${path}.${key}`));
  }
  const expected = SOURCES.find(([, t]) => t === type)?.[0];
  if (expected === undefined) errs.push(fieldNotSupported(`${path}.type`, type, SOURCE_TYPES));
  else if (!isObj(spec[expected])) {
    errs.push(
      fieldRequired(`${path}.${expected}`, "must populate information for the given metric source"),
    );
  }
  if (present.length !== 1) {
    for (const key of present) {
      if (key !== expected) {
        errs.push(fieldForbidden(`${path}.${key}`, "must populate the given metric source only"));
      }
    }
  }
  return errs;
}

function validateMetrics(metrics: unknown, minReplicas: unknown): FieldError[] {
  const errs: FieldError[] = [];
  let scalesToZero = false;
  objs(metrics).forEach((m, i) => {
    errs.push(...validateMetricSpec(m, `spec.metrics[${i}]`));
    if (m.type === "Object" || m.type === "External") scalesToZero = true;
  });
  if (minReplicas === 0 && !scalesToZero) {
    errs.push(
      fieldForbidden(
        "spec.metrics",
        "must specify at least one Object or External metric to support scaling to zero replicas",
      ),
    );
  }
  return errs;
}

function validateScalingPolicy(policy: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (policy.type !== "Pods" && policy.type !== "Percent") {
    errs.push(fieldNotSupported(`${path}.type`, policy.type ?? "", POLICY_TYPES));
  }
  const value = typeof policy.value === "number" ? policy.value : 0;
  if (value <= 0) errs.push(fieldInvalid(`${path}.value`, value, "must be greater than zero"));
  const period = typeof policy.periodSeconds === "number" ? policy.periodSeconds : 0;
  if (period <= 0) {
    errs.push(fieldInvalid(`${path}.periodSeconds`, period, "must be greater than zero"));
  }
  if (period > MAX_PERIOD_SECONDS) {
    errs.push(
      fieldInvalid(
        `${path}.periodSeconds`,
        period,
        `must be less than or equal to ${MAX_PERIOD_SECONDS}`,
      ),
    );
  }
  return errs;
}

function validateScalingRules(rules: unknown, path: string): FieldError[] {
  if (!isObj(rules)) return [];
  const errs: FieldError[] = [];
  const window = rules.stabilizationWindowSeconds;
  if (typeof window === "number" && window < 0) {
    errs.push(
      fieldInvalid(
        `${path}.stabilizationWindowSeconds`,
        window,
        "must be greater than or equal to zero",
      ),
    );
  }
  if (typeof window === "number" && window > MAX_STABILIZATION_WINDOW_SECONDS) {
    errs.push(
      fieldInvalid(
        `${path}.stabilizationWindowSeconds`,
        window,
        `must be less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`,
      ),
    );
  }
  const select = rules.selectPolicy;
  if (present(select) && !SELECT_POLICIES.includes(String(select))) {
    errs.push(fieldNotSupported(`${path}.selectPolicy`, select, SELECT_POLICIES));
  }
  const policies = objs(rules.policies);
  if (policies.length === 0) {
    errs.push(fieldRequired(`${path}.policies`, "must specify at least one Policy"));
  }
  policies.forEach((p, i) => {
    errs.push(...validateScalingPolicy(p, `${path}.policies[${i}]`));
  });
  return errs;
}

/** The spec rules; `minReplicasLowerBound` is 0 only for an update of an object that had 0. */
export function validateHpaSpec(spec: Obj, minReplicasLowerBound: number): FieldError[] {
  const errs: FieldError[] = [];
  const min = spec.minReplicas;
  const max = typeof spec.maxReplicas === "number" ? spec.maxReplicas : 0;
  if (typeof min === "number" && min < minReplicasLowerBound) {
    errs.push(
      fieldInvalid(
        "spec.minReplicas",
        min,
        `must be greater than or equal to ${minReplicasLowerBound}`,
      ),
    );
  }
  if (max < 1) errs.push(fieldInvalid("spec.maxReplicas", max, "must be greater than 0"));
  if (typeof min === "number" && max < min) {
    errs.push(
      fieldInvalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"),
    );
  }
  errs.push(...validateCrossVersionObjectReference(spec.scaleTargetRef, "spec.scaleTargetRef"));
  errs.push(...validateMetrics(spec.metrics, min));
  if (isObj(spec.behavior)) {
    errs.push(...validateScalingRules(spec.behavior.scaleUp, "spec.behavior.scaleUp"));
    errs.push(...validateScalingRules(spec.behavior.scaleDown, "spec.behavior.scaleDown"));
  }
  return errs;
}

/** ValidateHorizontalPodAutoscalerStatusUpdate's status checks. */
export function validateHpaStatus(status: unknown): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isObj(status) ? status : {};
  for (const key of ["currentReplicas", "desiredReplicas"] as const) {
    const v = s[key];
    if (typeof v === "number" && v < 0) {
      errs.push(fieldInvalid(`status.${key}`, v, "must be greater than or equal to 0"));
    }
  }
  return errs;
}
