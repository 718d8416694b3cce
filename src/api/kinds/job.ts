/**
 * batch/v1 jobs: SetDefaults_Job, the job strategy's PrepareForCreate (a generated selector on
 * the Job's uid and the `controller-uid`/`job-name` labels, with and without the
 * `batch.kubernetes.io/` prefix, unless `manualSelector`), ValidateJob and ValidateJobUpdate with
 * kube's messages, and the `kubectl get jobs` columns of 1.32 (NAME STATUS COMPLETIONS DURATION
 * AGE; `-o wide` CONTAINERS IMAGES SELECTOR).
 *
 * kube-apiserver defaults a Job again when it reads it back from storage, so a Job whose own labels
 * were empty shows its template's labels (the generated ones included); here that copy is made
 * once the selector is generated.
 *
 * @module
 */
import { humanDuration, sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label } from "../validation.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goLabelSelector, goStringMap } from "./_gofmt.ts";
import { defaultJobSpec, validateJobSpec } from "./_jobspec.ts";
import { selectorMatches, selectorString, validateLabelSelector } from "./_selector.ts";
import {
  at,
  child,
  containerCells,
  isObj,
  num,
  type Obj,
  objs,
  semanticEqual,
  str,
  strMap,
} from "./_util.ts";
import { selectorImmutable } from "./_workload.ts";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { dropDisabledPodFields } from "./pod_gates.ts";
import type { KindStrategy } from "./types.ts";

export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const LEGACY_JOB_NAME_LABEL = "job-name";
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";

/** SetDefaults_Job: the spec's defaults, then the Job's labels from its template when empty. */
export function defaultJob(job: Obj): void {
  const spec = child(job, "spec");
  defaultJobSpec(spec);
  const templateLabels = at(spec, "template", "metadata", "labels");
  const meta = child(job, "metadata");
  if (isObj(templateLabels) && Object.keys(strMap(meta.labels)).length === 0)
    meta.labels = { ...templateLabels };
}

/** The job strategy's generateSelector: labels on the template, a selector on the uid. */
function generateSelector(job: Obj): void {
  const meta = child(job, "metadata");
  const spec = child(job, "spec");
  const template = child(spec, "template");
  const labels = child(child(template, "metadata"), "labels");
  const name = str(meta.name);
  const uid = str(meta.uid);
  for (const key of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL])
    if (!(key in labels)) labels[key] = name;
  for (const key of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL])
    if (!(key in labels)) labels[key] = uid;
  const matchLabels = child(child(spec, "selector"), "matchLabels");
  if (!(CONTROLLER_UID_LABEL in matchLabels)) matchLabels[CONTROLLER_UID_LABEL] = uid;
}

/** ValidateHasLabel at `spec.template.metadata`. */
function hasLabel(labels: Record<string, string>, key: string, want: string): FieldError[] {
  const path = `spec.template.metadata.labels[${key}]`;
  if (!(key in labels)) return [fieldRequired(path)];
  return labels[key] === want ? [] : [fieldInvalid(path, labels[key], `must be '${want}'`)];
}

/** validateGeneratedSelector: the generated labels are there and the selector is the generated one. */
function validateGeneratedSelector(job: KubeObject, prefixed: boolean): FieldError[] {
  const spec = isObj(job.spec) ? job.spec : {};
  if (spec.manualSelector === true || !isObj(spec.selector)) return [];
  const errs: FieldError[] = [];
  const uid = job.metadata.uid ?? "";
  const name = job.metadata.name ?? "";
  if (uid === "") errs.push(fieldRequired("metadata.uid"));
  const labels = strMap(at(spec, "template", "metadata", "labels"));
  errs.push(...hasLabel(labels, LEGACY_CONTROLLER_UID_LABEL, uid));
  errs.push(...hasLabel(labels, LEGACY_JOB_NAME_LABEL, name));
  const expected: Record<string, string> = {};
  if (prefixed) {
    errs.push(...hasLabel(labels, CONTROLLER_UID_LABEL, uid));
    errs.push(...hasLabel(labels, JOB_NAME_LABEL, name));
    expected[CONTROLLER_UID_LABEL] = uid;
    expected[JOB_NAME_LABEL] = name;
  }
  expected[LEGACY_CONTROLLER_UID_LABEL] = uid;
  expected[LEGACY_JOB_NAME_LABEL] = name;
  if (!selectorMatches(spec.selector, expected))
    errs.push(
      invalidRaw("spec.selector", goLabelSelector(spec.selector), "`selector` not auto-generated"),
    );
  return errs;
}

function validateJob(job: KubeObject, prefixed: boolean): FieldError[] {
  const spec = isObj(job.spec) ? job.spec : {};
  const errs = [
    ...validateObjectMeta(job.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
    ...validateGeneratedSelector(job, prefixed),
    ...validateJobSpec(spec, "spec"),
  ];
  if (!isObj(spec.selector)) errs.push(fieldRequired("spec.selector"));
  else {
    errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    const labels = at(spec, "template", "metadata", "labels");
    if (!selectorMatches(spec.selector, labels))
      errs.push(
        invalidRaw(
          "spec.template.metadata.labels",
          goStringMap(labels),
          "`selector` does not match template `labels`",
        ),
      );
  }
  const completions = spec.completions;
  if (spec.completionMode === "Indexed" && typeof completions === "number" && completions > 0) {
    const hostname = `${job.metadata.name ?? ""}-${completions - 1}`;
    if (isDNS1123Label(hostname).length > 0)
      errs.push(
        fieldInvalid(
          "metadata.name",
          job.metadata.name ?? "",
          `will not able to create pod with invalid DNS label: ${hostname}`,
        ),
      );
  }
  return errs;
}

function immutable(path: string, now: unknown, old: unknown): FieldError[] {
  if (semanticEqual(now ?? null, old ?? null)) return [];
  const shown = typeof now === "object" && now !== null ? JSON.stringify(now) : now;
  return [
    typeof shown === "string" && typeof now === "object"
      ? invalidRaw(path, shown, "field is immutable")
      : fieldInvalid(path, now ?? null, "field is immutable"),
  ];
}

/**
 * The template may change only where a suspended Job that never started allows it (node
 * affinity, node selector, tolerations, labels, annotations, scheduling gates).
 */
function templateUpdate(spec: Obj, old: Obj, oldStatus: unknown): FieldError[] {
  const now = spec.template;
  let before: unknown = old.template;
  const mutable = old.suspend === true && at(oldStatus, "startTime") === undefined;
  if (mutable && isObj(before) && isObj(now)) {
    const copy = structuredClone(before) as Obj;
    const meta = child(copy, "metadata");
    const nowMeta = isObj(now.metadata) ? now.metadata : {};
    for (const f of ["labels", "annotations"]) {
      if (nowMeta[f] === undefined) delete meta[f];
      else meta[f] = nowMeta[f];
    }
    const podSpec = child(copy, "spec");
    const nowSpec = isObj(now.spec) ? now.spec : {};
    for (const f of ["nodeSelector", "tolerations", "schedulingGates"]) {
      if (nowSpec[f] === undefined) delete podSpec[f];
      else podSpec[f] = nowSpec[f];
    }
    const affinity = isObj(podSpec.affinity) ? { ...podSpec.affinity } : undefined;
    const nowAffinity = isObj(nowSpec.affinity) ? nowSpec.affinity : undefined;
    if (nowAffinity) {
      const merged: Obj = { ...(affinity ?? {}) };
      if (nowAffinity.nodeAffinity === undefined) delete merged.nodeAffinity;
      else merged.nodeAffinity = nowAffinity.nodeAffinity;
      podSpec.affinity = merged;
    } else if (affinity) {
      delete affinity.nodeAffinity;
      if (Object.keys(affinity).length === 0) delete podSpec.affinity;
      else podSpec.affinity = affinity;
    }
    before = copy;
  }
  return immutable("spec.template", now, before);
}

function validateJobSpecUpdate(spec: Obj, old: Obj, oldStatus: unknown): FieldError[] {
  const errs: FieldError[] = [];
  const indexed = spec.completionMode === "Indexed";
  if (!indexed || typeof spec.completions !== "number")
    errs.push(...immutable("spec.completions", spec.completions, old.completions));
  else if (
    !semanticEqual(spec.completions, old.completions) &&
    spec.completions !== spec.parallelism
  )
    errs.push(
      fieldInvalid(
        "spec.completions",
        spec.completions,
        "can only be modified in tandem with spec.parallelism",
      ),
    );
  errs.push(...selectorImmutable(spec, old));
  errs.push(...templateUpdate(spec, old, oldStatus));
  for (const f of [
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "managedBy",
    "successPolicy",
  ])
    errs.push(...immutable(`spec.${f}`, spec[f], old[f]));
  return errs;
}

/** The STATUS cell of `kubectl get jobs` (1.32). */
export function jobStatusCell(job: KubeObject): string {
  const conditions = objs(at(job, "status", "conditions"));
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === "True");
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  return "Running";
}

function completionsCell(job: KubeObject): string {
  const succeeded = num(at(job, "status", "succeeded"));
  const completions = at(job, "spec", "completions");
  if (typeof completions === "number") return `${succeeded}/${completions}`;
  const parallelism = num(at(job, "spec", "parallelism"));
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationCell(job: KubeObject, now: number): string {
  const start = Date.parse(str(at(job, "status", "startTime")));
  if (Number.isNaN(start)) return "";
  const end = Date.parse(str(at(job, "status", "completionTime")));
  return humanDuration((Number.isNaN(end) ? now : end) - start);
}

export const jobStrategy: KindStrategy = {
  group: "batch",
  version: "v1",
  kind: "Job",
  resource: "jobs",
  singular: "job",
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultJob(obj as Obj);
  },
  prepareForCreate(obj) {
    const spec = child(obj as Obj, "spec");
    if (spec.manualSelector !== true) generateSelector(obj as Obj);
    delete obj.status;
    if (isObj(spec.template)) dropDisabledPodFields(spec.template);
    // Read back from storage, kube-apiserver defaults the Job again: empty labels take the
    // template's, generated ones included.
    const labels = at(spec, "template", "metadata", "labels");
    if (isObj(labels) && Object.keys(strMap(obj.metadata.labels)).length === 0)
      obj.metadata.labels = { ...strMap(labels) };
  },
  prepareForUpdate(obj, old) {
    const template = at(obj, "spec", "template");
    const oldTemplate = at(old, "spec", "template");
    if (isObj(template))
      dropDisabledPodFields(template, isObj(oldTemplate) ? oldTemplate : undefined);
  },
  validate(obj) {
    return validateJob(obj, true);
  },
  validateUpdate(obj, old) {
    const spec = isObj(obj.spec) ? obj.spec : {};
    const oldSpec = isObj(old.spec) ? old.spec : {};
    // Jobs created before the prefixed labels existed are not asked for them.
    const oldLabels = strMap(at(oldSpec, "template", "metadata", "labels"));
    const prefixed = JOB_NAME_LABEL in oldLabels && CONTROLLER_UID_LABEL in oldLabels;
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateJob(obj, prefixed),
      ...validateJobSpecUpdate(spec, oldSpec, old.status),
    ];
  },
  columns: [
    NAME,
    column("Status", "string", "Status of the job."),
    column(
      "Completions",
      "string",
      "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    ),
    column("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    column(
      "Selector",
      "string",
      "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
      1,
    ),
  ],
  row(obj, now) {
    const [containers, images] = containerCells(at(obj, "spec", "template", "spec"));
    return [
      obj.metadata.name ?? "",
      jobStatusCell(obj),
      completionsCell(obj),
      durationCell(obj, now),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
      containers,
      images,
      selectorString(at(obj, "spec", "selector")),
    ];
  },
  selectableFields(obj) {
    return { "status.successful": String(num(at(obj, "status", "succeeded"))) };
  },
};
