/**
 * What Jobs and CronJobs' job templates share: `SetDefaults_Job` (completions and parallelism 1
 * when both are unset, backoffLimit 6 — or the int32 maximum with backoffLimitPerIndex —,
 * NonIndexed, not suspended, podReplacementPolicy, manualSelector false, pod failure policy
 * condition patterns default to "True") and kube's `validateJobSpec` with its messages (counts,
 * Indexed limits, backoff limit per index, pod failure and success policies, pod replacement
 * policy, the pod template and its restart policy).
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { isQualifiedName } from "../validation.ts";
import { fieldTooLong, fieldTooMany } from "./_errors.ts";
import { arr, at, child, isObj, type Obj, objs, setDefault, str } from "./_util.ts";
import { nonNegative } from "./_workload.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import { validatePodTemplate } from "./pod_validation.ts";

export const MAX_INT32 = 2_147_483_647;
const MAX_PARALLELISM_INDEXED = 100_000;
const MAX_FAILED_INDEXES = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const PARALLELISM_HIGH_COMPLETIONS = 10_000;
const MAX_FAILED_INDEXES_HIGH_COMPLETIONS = 10_000;
const MAX_FAILURE_POLICY_RULES = 20;
const MAX_EXIT_CODE_VALUES = 255;
const MAX_CONDITION_PATTERNS = 20;
const MAX_SUCCESS_POLICY_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;

const ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"];
const OPERATORS = ["In", "NotIn"];
const CONDITION_STATUSES = ["False", "True", "Unknown"];

/** SetDefaults_Job on a JobSpec (the template's pod defaults included); not the Job's labels. */
export function defaultJobSpec(spec: Obj): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, "parallelism", 1);
  if (spec.backoffLimit === undefined || spec.backoffLimit === null)
    spec.backoffLimit = spec.backoffLimitPerIndex !== undefined ? MAX_INT32 : 6;
  setDefault(spec, "completionMode", "NonIndexed");
  setDefault(spec, "suspend", false);
  defaultFailurePolicyPatterns(spec);
  if (spec.podReplacementPolicy === undefined || spec.podReplacementPolicy === null)
    spec.podReplacementPolicy = isObj(spec.podFailurePolicy) ? "Failed" : "TerminatingOrFailed";
  setDefault(spec, "manualSelector", false);
  defaultPodTemplate(spec.template);
}

/** The type defaulter of PodFailurePolicyOnPodConditionsPattern (runs on Jobs and CronJobs). */
export function defaultFailurePolicyPatterns(spec: Obj): void {
  for (const rule of objs(at(spec, "podFailurePolicy", "rules")))
    for (const pattern of objs(rule.onPodConditions)) setDefault(pattern, "status", "True");
}

/** The pod template defaults of a CronJob's job template (SetDefaults_Job is not run there). */
export function defaultJobTemplateSpec(spec: Obj): void {
  defaultFailurePolicyPatterns(spec);
  defaultPodTemplate(child(spec, "template"));
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

function containerNames(spec: Obj): Set<string> {
  const pod = at(spec, "template", "spec");
  return new Set(
    [...objs(at(pod, "containers")), ...objs(at(pod, "initContainers"))].map((c) => str(c.name)),
  );
}

function validateOnExitCodes(req: Obj, path: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const op = str(req.operator);
  if (op === "") errs.push(fieldRequired(`${path}.operator`, `valid values: ["In" "NotIn"]`));
  else if (!OPERATORS.includes(op)) errs.push(fieldNotSupported(`${path}.operator`, op, OPERATORS));
  if (typeof req.containerName === "string" && !names.has(req.containerName))
    errs.push(
      fieldInvalid(
        `${path}.containerName`,
        req.containerName,
        "must be one of the container or initContainer names in the pod template",
      ),
    );
  const values = arr(req.values);
  if (values.length === 0)
    errs.push(fieldInvalid(`${path}.values`, values, "at least one value is required"));
  else if (values.length > MAX_EXIT_CODE_VALUES)
    errs.push(fieldTooMany(`${path}.values`, values.length, MAX_EXIT_CODE_VALUES));
  const seen = new Set<unknown>();
  let ordered = true;
  values.forEach((v, j) => {
    if (op === "In" && v === 0)
      errs.push(fieldInvalid(`${path}.values[${j}]`, v, "must not be 0 for the In operator"));
    if (seen.has(v)) errs.push(fieldDuplicate(`${path}.values[${j}]`, v));
    else seen.add(v);
    if (j > 0 && (values[j - 1] as number) > (v as number)) ordered = false;
  });
  if (!ordered) errs.push(fieldInvalid(`${path}.values`, values, "must be ordered"));
  return errs;
}

function validateOnPodConditions(patterns: Obj[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (patterns.length > MAX_CONDITION_PATTERNS)
    errs.push(fieldTooMany(path, patterns.length, MAX_CONDITION_PATTERNS));
  patterns.forEach((p, j) => {
    const type = str(p.type);
    for (const m of isQualifiedName(type)) errs.push(fieldInvalid(`${path}[${j}].type`, type, m));
    const status = str(p.status);
    if (status === "")
      errs.push(fieldRequired(`${path}[${j}].status`, `valid values: ["False" "True" "Unknown"]`));
    else if (!CONDITION_STATUSES.includes(status))
      errs.push(fieldNotSupported(`${path}[${j}].status`, status, CONDITION_STATUSES));
  });
  return errs;
}

function validatePodFailurePolicy(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const rules = objs(at(spec, "podFailurePolicy", "rules"));
  if (rules.length > MAX_FAILURE_POLICY_RULES)
    errs.push(fieldTooMany(`${path}.rules`, rules.length, MAX_FAILURE_POLICY_RULES));
  const names = containerNames(spec);
  rules.forEach((rule, i) => {
    const p = `${path}.rules[${i}]`;
    const action = str(rule.action);
    if (action === "")
      errs.push(
        fieldRequired(`${p}.action`, `valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`),
      );
    else if (action === "FailIndex") {
      if (spec.backoffLimitPerIndex === undefined || spec.backoffLimitPerIndex === null)
        errs.push(
          fieldInvalid(`${p}.action`, action, "requires the backoffLimitPerIndex to be set"),
        );
    } else if (!ACTIONS.includes(action))
      errs.push(fieldNotSupported(`${p}.action`, action, ACTIONS));
    const onExit = isObj(rule.onExitCodes) ? rule.onExitCodes : undefined;
    const onConditions = objs(rule.onPodConditions);
    if (onExit) errs.push(...validateOnExitCodes(onExit, `${p}.onExitCodes`, names));
    if (onConditions.length > 0)
      errs.push(...validateOnPodConditions(onConditions, `${p}.onPodConditions`));
    if (onExit && onConditions.length > 0)
      errs.push({
        type: "FieldValueInvalid",
        field: p,
        message: "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
      });
    if (!onExit && onConditions.length === 0)
      errs.push({
        type: "FieldValueInvalid",
        field: p,
        message: "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
      });
  });
  return errs;
}

/** An index list such as `1,3-5,7` (ordered, within completions); its count, or an error. */
export function parseIndexList(text: string, completions: number): number | string {
  if (text === "") return 0;
  let total = 0;
  let last = -1;
  for (const part of text.split(",")) {
    const bounds = part.split("-");
    if (bounds.length > 2)
      return `the fragment "${part}" violates the requirement that an index interval can have at most two parts separated by '-'`;
    const nums = bounds.map((b) => (/^\d+$/.test(b) ? Number(b) : Number.NaN));
    if (nums.some((n) => Number.isNaN(n)))
      return `cannot convert string to integer for index: "${bounds.find((b) => !/^\d+$/.test(b))}"`;
    const first = nums[0] as number;
    const end = nums[nums.length - 1] as number;
    if (end >= completions) return `too large index: "${end}"`;
    if (first > end) return `non-increasing order, previous: ${first}, current: ${end}`;
    if (first <= last) return `overlapping intervals, previous: ${last}, current: ${first}`;
    total += end - first + 1;
    last = end;
  }
  return total;
}

function validateSuccessPolicy(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const rules = objs(at(spec, "successPolicy", "rules"));
  const completions = isInt(spec.completions) ? spec.completions : 0;
  if (rules.length === 0)
    errs.push(
      fieldRequired(
        `${path}.rules`,
        "at least one rules must be specified when the successPolicy is specified",
      ),
    );
  if (rules.length > MAX_SUCCESS_POLICY_RULES)
    errs.push(fieldTooMany(`${path}.rules`, rules.length, MAX_SUCCESS_POLICY_RULES));
  rules.forEach((rule, i) => {
    const p = `${path}.rules[${i}]`;
    if (rule.succeededCount === undefined && rule.succeededIndexes === undefined)
      errs.push(
        fieldRequired(p, "at least one of succeededCount or succeededIndexes must be specified"),
      );
    let total = 0;
    if (typeof rule.succeededIndexes === "string") {
      if (rule.succeededIndexes.length > MAX_SUCCEEDED_INDEXES_LENGTH)
        errs.push(fieldTooLong(`${p}.succeededIndexes`, MAX_SUCCEEDED_INDEXES_LENGTH));
      const parsed = parseIndexList(rule.succeededIndexes, completions);
      if (typeof parsed === "string")
        errs.push(
          fieldInvalid(
            `${p}.succeededIndexes`,
            rule.succeededIndexes,
            `error parsing succeededIndexes: ${parsed}`,
          ),
        );
      else total = parsed;
    }
    if (isInt(rule.succeededCount)) {
      const count = rule.succeededCount;
      errs.push(...nonNegative(count, `${p}.succeededCount`));
      if (count > completions)
        errs.push(
          fieldInvalid(
            `${p}.succeededCount`,
            count,
            `must be less than or equal to ${completions} (the number of specified completions)`,
          ),
        );
      if (typeof rule.succeededIndexes === "string" && count > total)
        errs.push(
          fieldInvalid(
            `${p}.succeededCount`,
            count,
            `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`,
          ),
        );
    }
  });
  return errs;
}

function validateIndexed(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const { completions, parallelism, maxFailedIndexes } = spec;
  if (completions === undefined || completions === null)
    errs.push(fieldRequired(`${path}.completions`, "when completion mode is Indexed"));
  if (isInt(parallelism) && parallelism > MAX_PARALLELISM_INDEXED)
    errs.push(
      fieldInvalid(
        `${path}.parallelism`,
        parallelism,
        `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`,
      ),
    );
  if (isInt(completions) && isInt(maxFailedIndexes) && maxFailedIndexes > completions)
    errs.push(
      fieldInvalid(
        `${path}.maxFailedIndexes`,
        maxFailedIndexes,
        "must be less than or equal to completions",
      ),
    );
  if (isInt(maxFailedIndexes) && maxFailedIndexes > MAX_FAILED_INDEXES)
    errs.push(
      fieldInvalid(
        `${path}.maxFailedIndexes`,
        maxFailedIndexes,
        `must be less than or equal to ${MAX_FAILED_INDEXES}`,
      ),
    );
  if (
    isInt(completions) &&
    completions > COMPLETIONS_SOFT_LIMIT &&
    spec.backoffLimitPerIndex != null
  ) {
    const why = `when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`;
    if (maxFailedIndexes === undefined || maxFailedIndexes === null)
      errs.push(
        fieldRequired(
          `${path}.maxFailedIndexes`,
          `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`,
        ),
      );
    if (isInt(parallelism) && parallelism > PARALLELISM_HIGH_COMPLETIONS)
      errs.push(
        fieldInvalid(
          `${path}.parallelism`,
          parallelism,
          `must be less than or equal to ${PARALLELISM_HIGH_COMPLETIONS} ${why}`,
        ),
      );
    if (isInt(maxFailedIndexes) && maxFailedIndexes > MAX_FAILED_INDEXES_HIGH_COMPLETIONS)
      errs.push(
        fieldInvalid(
          `${path}.maxFailedIndexes`,
          maxFailedIndexes,
          `must be less than or equal to ${MAX_FAILED_INDEXES_HIGH_COMPLETIONS} ${why}`,
        ),
      );
  }
  return errs;
}

/** kube's validateJobSpec at `path` (`spec`, or `spec.jobTemplate.spec` for a CronJob). */
export function validateJobSpec(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of [
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "backoffLimit",
    "ttlSecondsAfterFinished",
    "backoffLimitPerIndex",
  ])
    errs.push(...nonNegative(spec[f], `${path}.${f}`));
  if (spec.maxFailedIndexes !== undefined && spec.maxFailedIndexes !== null) {
    errs.push(...nonNegative(spec.maxFailedIndexes, `${path}.maxFailedIndexes`));
    if (spec.backoffLimitPerIndex === undefined || spec.backoffLimitPerIndex === null)
      errs.push(
        fieldRequired(`${path}.backoffLimitPerIndex`, "when maxFailedIndexes is specified"),
      );
  }
  if (typeof spec.managedBy === "string") {
    const managedBy = spec.managedBy;
    const slash = managedBy.indexOf("/");
    if (slash <= 0 || slash === managedBy.length - 1)
      errs.push(
        fieldInvalid(
          `${path}.managedBy`,
          managedBy,
          'must be a domain-prefixed path (such as "acme.io/foo")',
        ),
      );
    if (managedBy.length > 63) errs.push(fieldTooLong(`${path}.managedBy`, 63));
  }
  const mode = spec.completionMode;
  const indexed = mode === "Indexed";
  if (mode !== undefined && mode !== null) {
    if (mode !== "NonIndexed" && mode !== "Indexed")
      errs.push(fieldNotSupported(`${path}.completionMode`, mode, ["NonIndexed", "Indexed"]));
    if (indexed) errs.push(...validateIndexed(spec, path));
  }
  if (!indexed) {
    if (spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null)
      errs.push(
        fieldInvalid(
          `${path}.backoffLimitPerIndex`,
          spec.backoffLimitPerIndex,
          "requires indexed completion mode",
        ),
      );
    if (spec.maxFailedIndexes !== undefined && spec.maxFailedIndexes !== null)
      errs.push(
        fieldInvalid(
          `${path}.maxFailedIndexes`,
          spec.maxFailedIndexes,
          "requires indexed completion mode",
        ),
      );
  }
  const failurePolicy = isObj(spec.podFailurePolicy);
  if (failurePolicy) errs.push(...validatePodFailurePolicy(spec, `${path}.podFailurePolicy`));
  if (isObj(spec.successPolicy)) {
    if (!indexed)
      errs.push({
        type: "FieldValueInvalid",
        field: `${path}.successPolicy`,
        message: `Invalid value: ${JSON.stringify(spec.successPolicy)}: requires indexed completion mode`,
      });
    else errs.push(...validateSuccessPolicy(spec, `${path}.successPolicy`));
  }
  const replacement = spec.podReplacementPolicy;
  if (typeof replacement === "string") {
    if (failurePolicy) {
      if (replacement !== "Failed")
        errs.push(fieldNotSupported(`${path}.podReplacementPolicy`, replacement, ["Failed"]));
    } else if (replacement !== "Failed" && replacement !== "TerminatingOrFailed")
      errs.push(
        fieldNotSupported(`${path}.podReplacementPolicy`, replacement, [
          "Failed",
          "TerminatingOrFailed",
        ]),
      );
  }
  errs.push(...validatePodTemplate(spec.template, `${path}.template`));
  const restart = str(at(spec, "template", "spec", "restartPolicy"));
  const restartPath = `${path}.template.spec.restartPolicy`;
  if (restart === "Always" || restart === "")
    errs.push(fieldRequired(restartPath, `valid values: "OnFailure", "Never"`));
  else if (restart !== "OnFailure" && restart !== "Never")
    errs.push(fieldNotSupported(restartPath, restart, ["OnFailure", "Never"]));
  else if (failurePolicy && restart !== "Never")
    errs.push(
      fieldInvalid(
        restartPath,
        restart,
        `only "Never" is supported when podFailurePolicy is specified`,
      ),
    );
  return errs;
}
