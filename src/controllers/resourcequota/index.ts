/**
 * The resource quota controller: keeps every ResourceQuota's `status.hard` and `status.used`
 * (`reconcile.ts`). A quota is reconciled when it changes, when a pod, service or claim in its
 * namespace changes (releasing what a deleted or finished one held), and every
 * `QUOTA_RESYNC_MS`.
 *
 * @module
 */
import { strategyFor } from "../../api/kinds/index.ts";
import { REFS, sub } from "../../api/refs.ts";
import { type KubeObject, objectKey } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { reconcileQuota } from "./reconcile.ts";

export { QUOTA_RESYNC_MS, type QuotaDeps, quotaStatus, reconcileQuota } from "./reconcile.ts";

export const NAME = "resourcequota-controller";
const QUOTA = { apiVersion: "v1", kind: "ResourceQuota" };

export const startResourceQuotaController = defineController({
  name: NAME,
  setup({ ctx, queue, watch }) {
    const quotas = ctx.informers.get(REFS.resourcequotas);
    const enqueueNamespace = (obj: KubeObject) => {
      for (const q of quotas.list(obj.metadata.namespace ?? "")) queue.add(objectKey(q));
    };
    watch(quotas, {
      onAdd: (q) => queue.add(objectKey(q)),
      onUpdate: (o, q) => {
        if (JSON.stringify(o.spec) !== JSON.stringify(q.spec)) queue.add(objectKey(q));
      },
    });
    const onChange = {
      onAdd: enqueueNamespace,
      onUpdate: (_o: KubeObject, n: KubeObject) => enqueueNamespace(n),
      onDelete: enqueueNamespace,
    };
    for (const ref of [REFS.pods, REFS.services, REFS.persistentvolumeclaims])
      watch(ctx.informers.get(ref), onChange);

    return (key) =>
      reconcileQuota(key, {
        // From the informer, as kube's controller reads its lister: its role has no `get`.
        getQuota: async (ns, name) => {
          const quota = quotas.get(ns, name);
          return quota ? structuredClone(quota) : undefined;
        },
        listObjects: async (evaluator, ns) => {
          const strategy = strategyFor(evaluator.group, evaluator.resource);
          if (!strategy?.namespaced) return undefined;
          const ref = {
            group: evaluator.group,
            version: strategy.version,
            resource: evaluator.resource,
          };
          return (await ctx.client.list(ref, ns)).items as unknown as Record<string, unknown>[];
        },
        writeStatus: async (quota) => {
          await ctx.client.update(
            sub(REFS.resourcequotas, "status"),
            quota.metadata.namespace ?? "",
            {
              ...QUOTA,
              ...quota,
            },
          );
        },
        now: () => ctx.now().getTime(),
      });
  },
});
