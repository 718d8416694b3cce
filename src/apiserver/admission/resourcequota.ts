/**
 * ResourceQuota admission, as kube-apiserver's plugin of that name (on by default): a create (and,
 * for services and claims, an update) in a namespace with ResourceQuotas is checked against each
 * quota's `status.hard` and `status.used` (`api/quota`'s CheckRequest), refused with kube's 403
 * (`pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`),
 * or admitted and charged: the quota's `status.used` is raised in the same synchronous step as
 * the write, so two creates can never both take the last unit. The quota controller later
 * recounts `status.used` from the objects (releasing what deleted objects held). A write that
 * fails after admission gives its charge back.
 *
 * Runs last among the admission plugins, so it charges what LimitRanger defaulted.
 *
 * @module
 */
import { qualifiedResource } from "../../api/errors.ts";
import { checkQuota, evaluatorFor, formatResourceList } from "../../api/quota/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, type ResourceInfo, storeKey, storePrefix } from "../resources.ts";
import { admissionForbidden } from "./limitranger.ts";

const QUOTAS = findResource("", "resourcequotas");

export function resourceQuotaAdmission(store: Store, now: () => Date): Admission {
  function admit(
    info: ResourceInfo,
    obj: KubeObject,
    old: KubeObject | undefined,
    dryRun: boolean,
  ): (() => void) | undefined {
    if (!QUOTAS || !info.namespaced) return undefined;
    const evaluator = evaluatorFor(info.group, info.resource);
    if (old && !evaluator.chargesUpdates) return undefined;
    const namespace = obj.metadata.namespace ?? "";
    const quotas = store.list(storePrefix(QUOTAS, namespace)).items;
    if (quotas.length === 0) return undefined;
    const verdict = checkQuota(evaluator, quotas, {
      object: obj as Record<string, unknown>,
      ...(old ? { old: old as Record<string, unknown> } : {}),
      now: now().getTime(),
    });
    if ("refused" in verdict)
      throw admissionForbidden(qualifiedResource(info.resource, info.group), obj, verdict.refused);
    if (dryRun || verdict.charges.length === 0) return undefined;
    const undo: Array<() => void> = [];
    for (const { quota, used } of verdict.charges) {
      const key = storeKey(QUOTAS, namespace, quota.metadata.name ?? "");
      const next = structuredClone(quota) as KubeObject & { status?: Record<string, unknown> };
      next.status = { ...next.status, used: formatResourceList(used) };
      const stored = store.update(key, next, Number(quota.metadata.resourceVersion));
      undo.push(() => {
        const current = store.get(key);
        if (current?.metadata.resourceVersion !== stored.metadata.resourceVersion) return;
        store.update(key, structuredClone(quota), Number(stored.metadata.resourceVersion));
      });
    }
    return () => {
      for (const u of undo.reverse()) u();
    };
  }
  return {
    create: (info, obj, dryRun) => admit(info, obj, undefined, dryRun),
    update: (info, obj, old, dryRun) => admit(info, obj, old, dryRun),
  };
}
