/**
 * scheduling.k8s.io/v1 PriorityClass (cluster-scoped), as kube-apiserver serves it:
 * `preemptionPolicy` defaults to `PreemptLowerPriority`; names with the `system-` prefix are
 * reserved for the two system classes (with their values and `globalDefault: false`); a user's
 * class may not go above 1,000,000,000; `value` and `preemptionPolicy` never change; and the
 * `kubectl get priorityclasses` columns NAME, VALUE, GLOBAL-DEFAULT, AGE, PREEMPTIONPOLICY.
 *
 * The uniqueness of `globalDefault` needs the store and lives in the API server's Priority
 * admission; the system classes themselves are created at bootstrap (see {@link SYSTEM_PRIORITY_CLASSES}).
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
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

/** The most a class not named `system-…` may have. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
const SYSTEM_PREFIX = "system-";

/** The classes every cluster has from its start, as kube-apiserver creates them. */
export const SYSTEM_PRIORITY_CLASSES: ReadonlyArray<{
  name: string;
  value: number;
  description: string;
}> = [
  {
    name: "system-node-critical",
    value: SYSTEM_CRITICAL_PRIORITY + 1000,
    description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    name: "system-cluster-critical",
    value: SYSTEM_CRITICAL_PRIORITY,
    description:
      "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
];

export const PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"] as const;

function knownSystemClassError(name: string, value: unknown, globalDefault: boolean): string {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return "";
}

/** ValidatePreemptionPolicy, for PriorityClasses and pods alike. */
export function validatePreemptionPolicy(policy: unknown, path: string): FieldError[] {
  if (policy === "") return [fieldRequired(path)];
  if (PREEMPTION_POLICIES.includes(policy as (typeof PREEMPTION_POLICIES)[number])) return [];
  return [fieldNotSupported(path, policy, [...PREEMPTION_POLICIES])];
}

function validatePriorityClass(pc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = pc.metadata.name ?? "";
  const value = pc.value ?? 0;
  if (name.startsWith(SYSTEM_PREFIX)) {
    const why = knownSystemClassError(name, value, pc.globalDefault === true);
    if (why) {
      errs.push(
        fieldForbidden(
          "metadata.name",
          `priority class names with '${SYSTEM_PREFIX}' prefix are reserved for system use only. error: ${why}`,
        ),
      );
    }
  } else if (typeof value === "number" && value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(
      fieldForbidden(
        "value",
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      ),
    );
  }
  if (pc.preemptionPolicy !== undefined && pc.preemptionPolicy !== null) {
    errs.push(...validatePreemptionPolicy(pc.preemptionPolicy, "preemptionPolicy"));
  }
  return errs;
}

function validatePriorityClassUpdate(pc: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if ((pc.value ?? 0) !== (old.value ?? 0)) {
    errs.push(fieldForbidden("value", "may not be changed in an update."));
  }
  if ((pc.preemptionPolicy ?? null) !== (old.preemptionPolicy ?? null)) {
    errs.push(fieldInvalid("preemptionPolicy", pc.preemptionPolicy, "field is immutable"));
  }
  return errs;
}

export const priorityClassStrategy: KindStrategy = {
  group: "scheduling.k8s.io",
  version: "v1",
  kind: "PriorityClass",
  resource: "priorityclasses",
  singular: "priorityclass",
  shortNames: ["pc"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults(obj) {
    if (obj.preemptionPolicy === undefined || obj.preemptionPolicy === null)
      obj.preemptionPolicy = "PreemptLowerPriority";
  },
  validate(obj) {
    return [
      ...simpleValidators({ namespaced: false, nameRule: nameIsDNSSubdomain }).validate(obj),
      ...validatePriorityClass(obj),
    ];
  },
  validateUpdate(obj, old) {
    // ValidatePriorityClassUpdate: metadata and the immutable fields only.
    return [
      ...simpleValidators({ namespaced: false, nameRule: nameIsDNSSubdomain }).validateUpdate(
        obj,
        old,
      ),
      ...validatePriorityClassUpdate(obj, old),
    ];
  },
  columns: [
    NAME,
    column(
      "Value",
      "integer",
      "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
    ),
    column(
      "Global-Default",
      "boolean",
      "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
    ),
    AGE,
    column(
      "PreemptionPolicy",
      "string",
      "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
  ],
  row(pc, now) {
    return [
      pc.metadata.name ?? "",
      typeof pc.value === "number" ? pc.value : 0,
      pc.globalDefault === true,
      sinceTimestamp(pc.metadata.creationTimestamp, now),
      str(pc.preemptionPolicy) || "<unset>",
    ];
  },
};
