/**
 * The TTL-after-finished controller: deletes finished Jobs once their
 * `ttlSecondsAfterFinished` has passed (`reconcile.ts`). Job changes enqueue the Job; a Job not
 * yet due comes back when it is.
 *
 * @module
 */
import type { Job } from "kubernetes-types/batch/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import { type KubeObject, objectKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { reconcileTtl } from "./reconcile.ts";

export { finishedAt, reconcileTtl, type TtlDeps, timeLeft } from "./reconcile.ts";

export const NAME = "ttl-after-finished-controller";

export const startTtlAfterFinishedController = defineController({
  name: NAME,
  setup({ ctx, queue, watch }) {
    const jobs = ctx.informers.get<Job & KubeObject>(REFS.jobs);
    const enqueue = (j: Job) => {
      if (j.spec?.ttlSecondsAfterFinished !== undefined) queue.add(objectKey(j));
    };
    watch(jobs, { onAdd: enqueue, onUpdate: (_o, j) => enqueue(j) });
    return (key) =>
      reconcileTtl(key, {
        getJob: (ns, name) => jobs.get(ns, name),
        freshJob: async (ns, name) => {
          try {
            return typed<Job>(await ctx.client.get(REFS.jobs, ns, name));
          } catch (e) {
            if (isStatusError(e, "NotFound")) return undefined;
            throw e;
          }
        },
        deleteJob: async (job) => {
          await ctx.client
            .delete(REFS.jobs, job.metadata?.namespace ?? "", job.metadata?.name ?? "", {
              propagationPolicy: "Foreground",
              preconditions: { uid: job.metadata?.uid ?? "" },
            })
            .catch((e: unknown) => {
              if (!isStatusError(e, "NotFound")) throw e;
            });
        },
        now: () => ctx.now().getTime(),
      });
  },
});
