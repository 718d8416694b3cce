/**
 * batch/v1 cronjobs: SetDefaults_CronJob (Allow, not suspended, history limits 3 and 1),
 * ValidateCronJobCreate/Update with kube's messages — the schedule as robfig/cron's
 * `ParseStandard` reads it (`../cron.ts`), `TZ=`/`CRON_TZ=` refused in favour of `spec.timeZone`
 * (kept only on a CronJob that already had one), the time zone checked against the IANA
 * database, a name of at most 52 characters on create (the controller appends 11) —, and the
 * `kubectl get cronjobs` columns (NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE;
 * `-o wide` CONTAINERS IMAGES SELECTOR).
 *
 * @module
 */
import { CronParseError, isKnownTimeZone, parseCronSchedule } from "../cron.ts";
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { goLabelSelector } from "./_gofmt.ts";
import { defaultJobTemplateSpec, validateJobSpec } from "./_jobspec.ts";
import { selectorString } from "./_selector.ts";
import { arr, at, child, containerCells, isObj, type Obj, setDefault } from "./_util.ts";
import { nonNegative } from "./_workload.ts";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { dropDisabledPodFields } from "./pod_gates.ts";
import type { KindStrategy } from "./types.ts";

const POLICIES = ["Allow", "Forbid", "Replace"];
const ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

export function defaultCronJob(cj: Obj): void {
  const spec = child(cj, "spec");
  if (spec.concurrencyPolicy === undefined || spec.concurrencyPolicy === "")
    spec.concurrencyPolicy = "Allow";
  setDefault(spec, "suspend", false);
  setDefault(spec, "successfulJobsHistoryLimit", 3);
  setDefault(spec, "failedJobsHistoryLimit", 1);
  defaultJobTemplateSpec(child(child(spec, "jobTemplate"), "spec"));
}

function validateSchedule(schedule: string, allowTZ: boolean, timeZone: unknown): FieldError[] {
  const errs: FieldError[] = [];
  try {
    parseCronSchedule(schedule, "UTC");
  } catch (e) {
    if (!(e instanceof CronParseError)) throw e;
    errs.push(fieldInvalid("spec.schedule", schedule, e.message));
  }
  if (allowTZ && schedule.includes("TZ") && timeZone !== undefined && timeZone !== null)
    errs.push(
      fieldInvalid(
        "spec.schedule",
        schedule,
        "cannot use both timeZone field and TZ or CRON_TZ in schedule",
      ),
    );
  else if (!allowTZ && schedule.includes("TZ"))
    errs.push(
      fieldInvalid(
        "spec.schedule",
        schedule,
        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
      ),
    );
  return errs;
}

function validateTimeZone(zone: unknown): FieldError[] {
  if (zone === undefined || zone === null) return [];
  const path = "spec.timeZone";
  if (typeof zone !== "string" || zone === "")
    return [fieldInvalid(path, zone, "timeZone must be nil or non-empty string")];
  for (const part of zone.split("/"))
    if (part === "." || part === ".." || part.startsWith("-") || !ZONE_PART.test(part))
      return [fieldInvalid(path, zone, `unknown time zone ${zone}`)];
  const errs: FieldError[] = [];
  if (zone.toLowerCase() === "local")
    errs.push(
      fieldInvalid(
        path,
        zone,
        "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
      ),
    );
  if (!isKnownTimeZone(zone)) errs.push(fieldInvalid(path, zone, `unknown time zone ${zone}`));
  return errs;
}

function validateCronJobSpec(spec: Obj, old: Obj | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const schedule = typeof spec.schedule === "string" ? spec.schedule : "";
  if (schedule === "") errs.push(fieldRequired("spec.schedule"));
  else {
    const allowTZ = typeof old?.schedule === "string" && old.schedule.includes("TZ");
    errs.push(...validateSchedule(schedule, allowTZ, spec.timeZone));
  }
  errs.push(...nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds"));
  if (!old || old.timeZone !== spec.timeZone) errs.push(...validateTimeZone(spec.timeZone));
  const policy = spec.concurrencyPolicy;
  if (policy === undefined || policy === "") errs.push(fieldRequired("spec.concurrencyPolicy"));
  else if (typeof policy !== "string" || !POLICIES.includes(policy))
    errs.push(fieldNotSupported("spec.concurrencyPolicy", policy, POLICIES));
  const jobSpec = at(spec, "jobTemplate", "spec");
  const js: Obj = isObj(jobSpec) ? jobSpec : {};
  errs.push(...validateJobSpec(js, "spec.jobTemplate.spec"));
  if (js.selector !== undefined && js.selector !== null)
    errs.push(
      invalidRaw(
        "spec.jobTemplate.spec.selector",
        goLabelSelector(js.selector),
        "`selector` will be auto-generated",
      ),
    );
  if (js.manualSelector === true)
    errs.push(fieldNotSupported("spec.jobTemplate.spec.manualSelector", true, ["nil", "false"]));
  errs.push(...nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit"));
  errs.push(...nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit"));
  return errs;
}

export const cronJobStrategy: KindStrategy = {
  group: "batch",
  version: "v1",
  kind: "CronJob",
  resource: "cronjobs",
  singular: "cronjob",
  shortNames: ["cj"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultCronJob(obj as Obj);
  },
  prepareForCreate(obj) {
    delete obj.status;
    const template = at(obj, "spec", "jobTemplate", "spec", "template");
    if (isObj(template)) dropDisabledPodFields(template);
  },
  prepareForUpdate(obj, old) {
    const template = at(obj, "spec", "jobTemplate", "spec", "template");
    const oldTemplate = at(old, "spec", "jobTemplate", "spec", "template");
    if (isObj(template))
      dropDisabledPodFields(template, isObj(oldTemplate) ? oldTemplate : undefined);
  },
  validate(obj) {
    const errs = [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validateCronJobSpec(isObj(obj.spec) ? obj.spec : {}, undefined),
    ];
    const name = obj.metadata.name ?? "";
    // The controller appends an 11-character suffix to name its Jobs (63 - 11).
    if (name.length > 52)
      errs.push(fieldInvalid("metadata.name", name, "must be no more than 52 characters"));
    return errs;
  },
  validateUpdate(obj, old) {
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateCronJobSpec(isObj(obj.spec) ? obj.spec : {}, isObj(old.spec) ? old.spec : {}),
    ];
  },
  columns: [
    NAME,
    column(
      "Schedule",
      "string",
      "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    ),
    column(
      "Timezone",
      "string",
      "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    ),
    column(
      "Suspend",
      "boolean",
      "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
    ),
    column("Active", "integer", "A list of pointers to currently running jobs."),
    column(
      "Last Schedule",
      "string",
      "Information when was the last time the job was successfully scheduled.",
    ),
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
    const [containers, images] = containerCells(
      at(obj, "spec", "jobTemplate", "spec", "template", "spec"),
    );
    const last = at(obj, "status", "lastScheduleTime");
    const zone = at(obj, "spec", "timeZone");
    const suspend = at(obj, "spec", "suspend");
    const selector = at(obj, "spec", "jobTemplate", "spec", "selector");
    return [
      obj.metadata.name ?? "",
      at(obj, "spec", "schedule") ?? "",
      typeof zone === "string" ? zone : "<none>",
      typeof suspend === "boolean" ? (suspend ? "True" : "False") : "<unset>",
      arr(at(obj, "status", "active")).length,
      typeof last === "string" ? sinceTimestamp(last, now) : "<none>",
      sinceTimestamp(obj.metadata.creationTimestamp, now),
      containers,
      images,
      isObj(selector) ? selectorString(selector) : "<none>",
    ];
  },
};
