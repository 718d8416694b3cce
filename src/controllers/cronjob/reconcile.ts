/**
 * The CronJob sync (kube's CronJob controller v2), level-based on a `namespace/name` key, every
 * I/O behind `deps` and the clock injected (`now()`: tests drive schedules by hand).
 *
 * 1. History: finished Jobs beyond `successfulJobsHistoryLimit`/`failedJobsHistoryLimit` are
 *    deleted, oldest start first.
 * 2. The active list: finished Jobs leave it (`SawCompletedJob`), Jobs gone leave it
 *    (`MissingJob`), a running Job the CronJob controls but did not list is reported
 *    (`UnexpectedJob`, e.g. one made with `kubectl create job --from=cronjob/x`);
 *    `lastSuccessfulTime` follows the latest completion.
 * 3. Unless deleted, suspended, or its time zone or schedule is bad (`UnknownTimeZone`,
 *    `UnparseableSchedule`): find the most recent unmet schedule time (`TooManyMissedTimes`
 *    past 100 missed); too late past `startingDeadlineSeconds` (`MissSchedule`); already done;
 *    Forbid with a Job running (`JobAlreadyActive`); Replace deletes the running ones; then create
 *    `<cronjob>-<minutes>` from the template with the scheduled-timestamp annotation, add it to
 *    the active list and set `lastScheduleTime`.
 * 4. Come back just after the next activation.
 *
 * @module
 */
import type { CronJob, Job } from "kubernetes-types/batch/v1.js";
import type { ObjectReference } from "kubernetes-types/core/v1.js";
import { type CronSchedule, isKnownTimeZone, parseCronSchedule } from "../../api/cron.ts";
import { isStatusError } from "../../api/errors.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";
import { controllerOf, ownerRef } from "../_owners.ts";
import {
  jobName,
  mostRecentScheduleTime,
  rfc3339In,
  TOO_MANY_MISSED,
  untilNextSchedule,
} from "./_schedule.ts";

export const CRONJOB = { apiVersion: "batch/v1", kind: "CronJob" } as const;
export const SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export interface CronJobDeps {
  getCronJob(namespace: string, name: string): CronJob | undefined;
  /** The Jobs of the namespace whose controller is a CronJob of this name. */
  listJobs(cj: CronJob): Job[];
  /** A live read (a slow watch must not make a Job look gone). */
  getJob(namespace: string, name: string): Promise<Job | undefined>;
  /** Creates a Job; an AlreadyExists Status error passes through. */
  createJob(namespace: string, job: Job): Promise<Job>;
  /** Deletes a Job and, in the background, its pods. */
  deleteJob(job: Job): Promise<void>;
  writeStatus(cj: CronJob): Promise<CronJob>;
  event(cj: CronJob, type: "Normal" | "Warning", reason: string, message: string): void;
  now(): number;
  /** The zone of schedules without `spec.timeZone` (kube: the controller manager's). */
  localZone?: string;
}

const rfc3339 = (t: number) => `${new Date(t).toISOString().slice(0, 19)}Z`;

function finishedType(job: Job): "Complete" | "Failed" | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === "Complete" || x.type === "Failed") && x.status === "True",
  );
  return c?.type as "Complete" | "Failed" | undefined;
}

function inActive(cj: CronJob, uid: string | undefined): boolean {
  return (cj.status?.active ?? []).some((r) => r.uid === uid);
}

function removeActive(cj: CronJob, uid: string | undefined): void {
  const status = cj.status ?? {};
  status.active = (status.active ?? []).filter((r) => r.uid !== uid);
  cj.status = status;
}

function refTo(job: Job): ObjectReference {
  return {
    kind: "Job",
    namespace: job.metadata?.namespace ?? "",
    name: job.metadata?.name ?? "",
    uid: job.metadata?.uid ?? "",
    apiVersion: "batch/v1",
    ...(job.metadata?.resourceVersion ? { resourceVersion: job.metadata.resourceVersion } : {}),
  };
}

/** Jobs sorted oldest start first (unstarted last), then by name. */
function byStartTime(a: Job, b: Job): number {
  const ta = a.status?.startTime;
  const tb = b.status?.startTime;
  if (!ta && tb) return 1;
  if (ta && !tb) return -1;
  if (ta && tb && ta !== tb) return Date.parse(ta) - Date.parse(tb);
  return (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
}

async function deleteJob(cj: CronJob, job: Job, deps: CronJobDeps): Promise<void> {
  try {
    await deps.deleteJob(job);
  } catch (e) {
    if (isStatusError(e, "NotFound")) return;
    deps.event(cj, "Warning", "FailedDelete", `Deleted job: ${String(e)}`);
    throw e;
  }
  removeActive(cj, job.metadata?.uid);
  deps.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${job.metadata?.name ?? ""}`);
}

/** Deletes finished Jobs past the history limits; whether the status changed. */
async function cleanupFinished(cj: CronJob, jobs: Job[], deps: CronJobDeps): Promise<boolean> {
  const spec = cj.spec;
  if (spec?.successfulJobsHistoryLimit == null && spec?.failedJobsHistoryLimit == null)
    return false;
  let changed = false;
  for (const [type, limit] of [
    ["Complete", spec?.successfulJobsHistoryLimit],
    ["Failed", spec?.failedJobsHistoryLimit],
  ] as const) {
    if (limit === undefined || limit === null) continue;
    const done = jobs.filter((j) => finishedType(j) === type).sort(byStartTime);
    for (const j of done.slice(0, Math.max(0, done.length - limit))) {
      await deleteJob(cj, j, deps);
      changed = true;
    }
  }
  return changed;
}

/** The schedule as the controller reads it: `spec.timeZone` becomes a `TZ=` prefix. */
function parse(cj: CronJob, deps: CronJobDeps): CronSchedule {
  const schedule = cj.spec?.schedule ?? "";
  if (schedule.includes("TZ")) {
    deps.event(
      cj,
      "Warning",
      "UnsupportedSchedule",
      `CRON_TZ or TZ used in schedule "${schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
    );
    return parseCronSchedule(schedule, deps.localZone);
  }
  const zone = cj.spec?.timeZone;
  return parseCronSchedule(zone ? `TZ=${zone} ${schedule}` : schedule, deps.localZone);
}

/** kube's syncCronJob after the history cleanup: [requeue after ms, status changed]. */
async function syncCronJob(
  cj: CronJob,
  jobs: Job[],
  deps: CronJobDeps,
): Promise<[number | undefined, boolean]> {
  const now = deps.now();
  let changed = false;
  const children = new Set<string>();
  for (const j of jobs) {
    const uid = j.metadata?.uid ?? "";
    children.add(uid);
    const found = inActive(cj, uid);
    const finished = finishedType(j);
    if (!found && !finished) {
      deps.event(
        cj,
        "Warning",
        "UnexpectedJob",
        `Saw a job that the controller did not create or forgot: ${j.metadata?.name ?? ""}`,
      );
    } else if (found && finished) {
      removeActive(cj, uid);
      deps.event(
        cj,
        "Normal",
        "SawCompletedJob",
        `Saw completed job: ${j.metadata?.name ?? ""}, condition: ${finished}`,
      );
      changed = true;
    } else if (finished === "Complete" && j.status?.completionTime) {
      const last = cj.status?.lastSuccessfulTime;
      if (!last || Date.parse(j.status.completionTime) > Date.parse(last)) {
        cj.status = { ...cj.status, lastSuccessfulTime: j.status.completionTime };
        changed = true;
      }
    }
  }
  for (const ref of [...(cj.status?.active ?? [])]) {
    if (children.has(ref.uid ?? "")) continue;
    const live = await deps.getJob(ref.namespace ?? "", ref.name ?? "");
    if (!live) {
      deps.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name ?? ""}`);
      removeActive(cj, ref.uid);
      changed = true;
    }
  }
  if (cj.metadata?.deletionTimestamp) return [undefined, changed];
  const zone = cj.spec?.timeZone;
  if (zone && !isKnownTimeZone(zone)) {
    deps.event(
      cj,
      "Warning",
      "UnknownTimeZone",
      `invalid timeZone: "${zone}": unknown time zone ${zone}`,
    );
    return [undefined, changed];
  }
  if (cj.spec?.suspend) return [undefined, changed];
  let schedule: CronSchedule;
  try {
    schedule = parse(cj, deps);
  } catch (e) {
    deps.event(
      cj,
      "Warning",
      "UnparseableSchedule",
      `unparseable schedule: "${cj.spec?.schedule ?? ""}" : ${(e as Error).message}`,
    );
    return [undefined, changed];
  }
  const next = () => untilNextSchedule(cj, now, schedule);
  let recent: ReturnType<typeof mostRecentScheduleTime>;
  try {
    recent = mostRecentScheduleTime(cj, now, schedule, true);
  } catch (e) {
    deps.event(
      cj,
      "Warning",
      "InvalidSchedule",
      `invalid schedule: ${cj.spec?.schedule ?? ""} : ${(e as Error).message}`,
    );
    return [undefined, changed];
  }
  const scheduled = recent.mostRecent;
  if (scheduled === undefined || scheduled > now) return [next(), changed];
  if (recent.missed > TOO_MANY_MISSED)
    deps.event(
      cj,
      "Warning",
      "TooManyMissedTimes",
      `too many missed start times: ${recent.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
    );
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && scheduled + deadline * 1000 < now) {
    deps.event(
      cj,
      "Warning",
      "MissSchedule",
      `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace("GMT", "+0000")}`,
    );
    return [next(), changed];
  }
  const name = jobName(cj, scheduled);
  const last = cj.status?.lastScheduleTime ? Date.parse(cj.status.lastScheduleTime) : undefined;
  if ((cj.status?.active ?? []).some((r) => r.name === name) || last === scheduled)
    return [next(), changed];
  const active = cj.status?.active ?? [];
  if (cj.spec?.concurrencyPolicy === "Forbid" && active.length > 0) {
    deps.event(
      cj,
      "Normal",
      "JobAlreadyActive",
      "Not starting job because prior execution is running and concurrency policy is Forbid",
    );
    return [next(), changed];
  }
  if (cj.spec?.concurrencyPolicy === "Replace") {
    for (const ref of [...active]) {
      const live = await deps.getJob(ref.namespace ?? "", ref.name ?? "");
      if (live) await deleteJob(cj, live, deps);
      else removeActive(cj, ref.uid);
      changed = true;
    }
  }
  const template = cj.spec?.jobTemplate;
  const annotations: Record<string, string> = {
    ...(template?.metadata?.annotations ?? {}),
    [SCHEDULED_TIMESTAMP]: rfc3339In(scheduled, zone ?? "UTC"),
  };
  const job: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: cj.metadata?.namespace ?? "",
      ...(template?.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
      annotations,
      ownerReferences: [ownerRef(cj, CRONJOB)],
    },
    spec: structuredClone(template?.spec ?? { template: {} }),
  };
  let made: Job;
  try {
    made = await deps.createJob(cj.metadata?.namespace ?? "", job);
    deps.event(cj, "Normal", "SuccessfulCreate", `Created job ${made.metadata?.name ?? name}`);
  } catch (e) {
    if (!isStatusError(e, "AlreadyExists")) {
      deps.event(cj, "Warning", "FailedCreate", `Error creating job: ${(e as Error).message}`);
      throw e;
    }
    // Made before, but the status update was lost: list it, if it is ours and not listed.
    const existing = await deps.getJob(cj.metadata?.namespace ?? "", name);
    if (!existing || controllerOf(existing)?.uid !== cj.metadata?.uid) return [undefined, changed];
    if (inActive(cj, existing.metadata?.uid)) return [undefined, changed];
    made = existing;
  }
  cj.status = {
    ...cj.status,
    active: [...(cj.status?.active ?? []), refTo(made)],
    lastScheduleTime: rfc3339(scheduled),
  };
  return [next(), true];
}

export async function reconcileCronJob(key: string, deps: CronJobDeps): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const shared = deps.getCronJob(namespace, name);
  if (!shared) return;
  const cj = structuredClone(shared) as CronJob;
  cj.status ??= {};
  const jobs = deps.listJobs(cj);
  const cleaned = await cleanupFinished(cj, jobs, deps);
  const [requeue, changed] = await syncCronJob(cj, jobs, deps);
  if (cleaned || changed) {
    const status = { ...cj.status };
    if (status.active?.length === 0) delete status.active;
    await deps.writeStatus({ ...cj, status });
  }
  if (requeue !== undefined) return { requeueAfter: requeue };
}
