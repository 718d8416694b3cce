/**
 * The resource quota controller's reconcile of one ResourceQuota, as kube-controller-manager's:
 * `status.hard` follows `spec.hard`, and `status.used` is recounted from the namespace's objects
 * (`api/quota`'s CalculateUsage: pods, services, claims, and `count/<resource>.<group>` of any
 * served resource), so usage admission charged for objects since deleted is released. The quota
 * is read fresh and its status written with that resourceVersion, so a charge admission makes
 * meanwhile is never overwritten (the write conflicts and the runner retries). A quota is
 * recounted periodically too (kube's full resync), for deletions of kinds nothing watches here.
 *
 * @module
 */

import {
  calculateUsage,
  type Evaluator,
  evaluatorsForNames,
  formatResourceList,
  parseResourceList,
} from "../../api/quota/index.ts";
import type { KubeObject } from "../../api/types.ts";
import { splitKey } from "../../api/types.ts";

/** How often a quota is recounted without a reason (kube resyncs every 5 minutes). */
export const QUOTA_RESYNC_MS = 30_000;

export interface QuotaDeps {
  /** The quota as stored now, undefined when gone. */
  getQuota(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The namespace's objects an evaluator charges; undefined for a resource not served. */
  listObjects(
    evaluator: Evaluator,
    namespace: string,
  ): Promise<Record<string, unknown>[] | undefined>;
  writeStatus(quota: KubeObject): Promise<void>;
  now: () => number;
}

/** `apps/deployments`: evaluators of object counts are made afresh, so they are keyed by name. */
export const evaluatorKey = (e: Evaluator) => `${e.group}/${e.resource}`;

const sameList = (a: unknown, b: unknown) =>
  JSON.stringify(formatResourceList(parseResourceList(a))) ===
  JSON.stringify(formatResourceList(parseResourceList(b)));

/** The status a quota should have, given its namespace's objects. */
export function quotaStatus(
  quota: KubeObject,
  objects: Map<string, Record<string, unknown>[] | undefined>,
  now: number,
): { hard: Record<string, string>; used: Record<string, string> } {
  const hard = formatResourceList(parseResourceList((quota.spec as { hard?: unknown })?.hard));
  const used = calculateUsage(quota, (e) => objects.get(evaluatorKey(e)), now);
  return { hard, used: formatResourceList(used) };
}

export async function reconcileQuota(
  key: string,
  deps: QuotaDeps,
): Promise<{ requeueAfter?: number }> {
  const { namespace, name } = splitKey(key);
  const quota = await deps.getQuota(namespace, name);
  if (!quota) return {};
  const names = Object.keys(parseResourceList((quota.spec as { hard?: unknown })?.hard));
  const objects = new Map<string, Record<string, unknown>[] | undefined>();
  for (const evaluator of evaluatorsForNames(names))
    objects.set(evaluatorKey(evaluator), await deps.listObjects(evaluator, namespace));
  const status = quotaStatus(quota, objects, deps.now());
  const old = (quota.status ?? {}) as { hard?: unknown; used?: unknown };
  if (!sameList(status.hard, old.hard) || !sameList(status.used, old.used) || !old.used)
    await deps.writeStatus({ ...quota, status: { ...old, ...status } });
  return { requeueAfter: QUOTA_RESYNC_MS };
}
