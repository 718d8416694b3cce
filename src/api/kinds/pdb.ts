/**
 * policy/v1 PodDisruptionBudgets as kube-apiserver 1.32 keeps them: no defaults (policy/v1 has
 * none), validation with kube's messages (`minAvailable and maxUnavailable cannot be both set`,
 * counts or percentages up to 100 %, the selector, `unhealthyPodEvictionPolicy` IfHealthyBudget or
 * AlwaysAllow, non-negative status counts), a generation that follows the spec, status written
 * only through `/status`, and the `kubectl get pdb` columns (NAME, MIN AVAILABLE, MAX
 * UNAVAILABLE, ALLOWED DISRUPTIONS, AGE).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goIntOrString } from "./_gofmt.ts";
import { validateLabelSelector } from "./_selector.ts";
import { simpleValidators } from "./_simple.ts";
import { at, isObj, num, objs, str } from "./_util.ts";
import { nameIsPathSegment } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

export const UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"];
const CONDITION_STATUSES = ["False", "True", "Unknown"];

/** An IntOrString as kube reads a count or a percentage (`"25%"`). */
function intOrPercent(v: unknown): { value: number; percent: boolean; valid: boolean } {
  if (typeof v === "string") {
    const m = /^([0-9]+)%$/.exec(v);
    return m
      ? { value: Number(m[1]), percent: true, valid: true }
      : { value: 0, percent: true, valid: false };
  }
  return { value: num(v), percent: false, valid: true };
}

/** apps validation's ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. */
function validateCountOrPercent(v: unknown, path: string): FieldError[] {
  const p = intOrPercent(v);
  if (!p.valid)
    return [invalidRaw(path, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
  if (!p.percent && p.value < 0)
    return [fieldInvalid(path, p.value, "must be greater than or equal to 0")];
  if (p.percent && p.value > 100)
    return [invalidRaw(path, goIntOrString(v), "must not be greater than 100%")];
  return [];
}

const set = (v: unknown) => v !== undefined && v !== null;

/** `%#v` of the spec, pointers shown as Go shows them (an address, or nil). */
function goSpec(spec: Record<string, unknown>): string {
  const ptr = (type: string, v: unknown) => `(*${type})(${set(v) ? "0xc000a1c0a0" : "nil"})`;
  return `policy.PodDisruptionBudgetSpec{MinAvailable:${ptr("intstr.IntOrString", spec.minAvailable)}, Selector:${ptr("v1.LabelSelector", spec.selector)}, MaxUnavailable:${ptr("intstr.IntOrString", spec.maxUnavailable)}, UnhealthyPodEvictionPolicy:${ptr("policy.UnhealthyPodEvictionPolicyType", spec.unhealthyPodEvictionPolicy)}}`;
}

function validateConditions(conditions: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objs(conditions).forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!str(c.type)) errs.push(fieldRequired(`${p}.type`, "must be set"));
    if (!CONDITION_STATUSES.includes(str(c.status)))
      errs.push(fieldNotSupported(`${p}.status`, c.status ?? "", CONDITION_STATUSES));
    if (!c.lastTransitionTime) errs.push(fieldRequired(`${p}.lastTransitionTime`, "must be set"));
    if (!str(c.reason)) errs.push(fieldRequired(`${p}.reason`, "must be set"));
  });
  return errs;
}

function validateSpec(pdb: KubeObject): FieldError[] {
  const spec = isObj(pdb.spec) ? pdb.spec : {};
  const errs: FieldError[] = [];
  if (set(spec.minAvailable) && set(spec.maxUnavailable))
    errs.push(
      invalidRaw("spec", goSpec(spec), "minAvailable and maxUnavailable cannot be both set"),
    );
  if (set(spec.minAvailable))
    errs.push(...validateCountOrPercent(spec.minAvailable, "spec.minAvailable"));
  if (set(spec.maxUnavailable))
    errs.push(...validateCountOrPercent(spec.maxUnavailable, "spec.maxUnavailable"));
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (set(policy) && !UNHEALTHY_POD_EVICTION_POLICIES.includes(str(policy)))
    errs.push(
      fieldNotSupported("spec.unhealthyPodEvictionPolicy", policy, UNHEALTHY_POD_EVICTION_POLICIES),
    );
  const status = isObj(pdb.status) ? pdb.status : {};
  errs.push(...validateConditions(status.conditions, "status.conditions"));
  for (const f of ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"]) {
    if (num(status[f]) < 0)
      errs.push(fieldInvalid(`status.${f}`, num(status[f]), "must be greater than or equal to 0"));
  }
  return errs;
}

/** An IntOrString as `IntOrString.String()` prints it, `N/A` when unset. */
function cell(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return "N/A";
}

export const podDisruptionBudgetStrategy: KindStrategy = {
  group: "policy",
  version: "v1",
  kind: "PodDisruptionBudget",
  resource: "poddisruptionbudgets",
  singular: "poddisruptionbudget",
  shortNames: ["pdb"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults() {},
  prepareForCreate(pdb) {
    // PrepareForCreate: a new budget starts with an empty status.
    pdb.status = {};
  },
  ...simpleValidators({ namespaced: true, nameRule: nameIsPathSegment, spec: validateSpec }),
  columns: [
    NAME,
    column(
      "Min Available",
      "string",
      'The minimum number of pods that must be available simultaneously.  This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    column(
      "Max Unavailable",
      "string",
      'The maximum number of pods that may be unavailable simultaneously.  This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    column(
      "Allowed Disruptions",
      "integer",
      "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
  ],
  row(pdb, now) {
    return [
      pdb.metadata.name ?? "",
      cell(at(pdb, "spec", "minAvailable")),
      cell(at(pdb, "spec", "maxUnavailable")),
      num(at(pdb, "status", "disruptionsAllowed")),
      sinceTimestamp(pdb.metadata.creationTimestamp, now),
    ];
  },
};
