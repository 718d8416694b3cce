/**
 * The CronJob controller: starts Jobs on schedule (`reconcile.ts`). CronJob changes and changes
 * of the Jobs a CronJob controls enqueue the CronJob; a synced CronJob comes back just after its
 * next activation. Schedules run on `ctx.scheduleClock` when given (tests drive it by hand),
 * else on the controllers' clock and real timers.
 *
 * @module
 */
import type { CronJob, Job } from "kubernetes-types/batch/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { controllerOf } from "../_owners.ts";
import { CRONJOB, reconcileCronJob } from "./reconcile.ts";

export { mostRecentScheduleTime, untilNextSchedule } from "./_schedule.ts";
export { type CronJobDeps, reconcileCronJob, SCHEDULED_TIMESTAMP } from "./reconcile.ts";

export const NAME = "cronjob-controller";
const BY_CRONJOB = "cronjob-controller-owner";

export const startCronJobController = defineController({
  name: NAME,
  workers: 2,
  clock: (ctx) => ctx.scheduleClock,
  setup({ ctx, queue, watch, eventsFor }) {
    const cronjobs = ctx.informers.get<CronJob & KubeObject>(REFS.cronjobs);
    const jobs = ctx.informers.get<Job & KubeObject>(REFS.jobs);
    jobs.index(BY_CRONJOB, (j) => {
      const ref = controllerOf(j);
      return ref?.kind === "CronJob" ? [`${j.metadata.namespace ?? ""}/${ref.name}`] : [];
    });
    const ownerKey = (j: Job) => {
      const ref = controllerOf(j);
      return ref?.kind === "CronJob" ? `${j.metadata?.namespace ?? ""}/${ref.name}` : undefined;
    };
    const enqueueOwner = (j: Job) => {
      const key = ownerKey(j);
      if (key) queue.add(key);
    };
    watch(cronjobs, {
      onAdd: (cj) => queue.add(objectKey(cj)),
      onUpdate: (_o, cj) => queue.add(objectKey(cj)),
      onDelete: (cj) => queue.add(objectKey(cj)),
    });
    watch(jobs, {
      onAdd: enqueueOwner,
      onUpdate: (o, j) => {
        if (ownerKey(o) !== ownerKey(j)) enqueueOwner(o);
        enqueueOwner(j);
      },
      onDelete: enqueueOwner,
    });
    const clock = ctx.scheduleClock;
    const now = clock ? () => clock.now() : () => ctx.now().getTime();
    const event = eventsFor(CRONJOB);
    return (key) =>
      reconcileCronJob(key, {
        getCronJob: (ns, name) => cronjobs.get(ns, name),
        listJobs: (cj) => jobs.byIndex(BY_CRONJOB, objectKey(cj)),
        getJob: async (ns, name) => {
          try {
            return typed<Job>(await ctx.client.get(REFS.jobs, ns, name));
          } catch (e) {
            if (isStatusError(e, "NotFound")) return undefined;
            throw e;
          }
        },
        createJob: async (ns, job) =>
          typed<Job>(await ctx.client.create(REFS.jobs, ns, asKube(job))),
        deleteJob: async (job) => {
          await ctx.client.delete(
            REFS.jobs,
            job.metadata?.namespace ?? "",
            job.metadata?.name ?? "",
            {
              propagationPolicy: "Background",
            },
          );
        },
        writeStatus: async (cj) =>
          typed<CronJob>(
            await ctx.client.update(
              sub(REFS.cronjobs, "status"),
              cj.metadata?.namespace ?? "",
              asKube({ ...CRONJOB, ...cj }),
            ),
          ),
        event,
        now,
      });
  },
});
