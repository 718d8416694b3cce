/**
 * Resource quota as kube reckons it, shared by the ResourceQuota admission plugin (which checks
 * and charges each write against `status.used`) and the quota controller (which recounts
 * `status.used` from the objects in the namespace). Pure: objects in, usage and verdicts out.
 *
 * Left out, as in a cluster without those features: the VolumeAttributesClass scope (its gate is
 * off in 1.32), quota of in-place pod resizes (also gated), and `--admission-control-config`'s
 * limited resources.
 *
 * @module
 */

import { ZERO_QUANTITY } from "../quantity.ts";
import type { KubeObject } from "../types.ts";
import { type Evaluator, evaluatorsForNames } from "./_evaluators.ts";
import {
  addLists,
  lessThanOrEqual,
  mask,
  negatives,
  parseResourceList,
  prettyPrint,
  type ResourceList,
  removeZeros,
  subtractNonNegative,
} from "./_list.ts";
import type { ScopeRequirement } from "./_pods.ts";

export {
  countName,
  type Evaluator,
  evaluatorFor,
  evaluatorsForNames,
  parseCountName,
} from "./_evaluators.ts";
export {
  addLists,
  formatResourceList,
  listsEqual,
  mask,
  parseResourceList,
  prettyPrint,
  type ResourceList,
} from "./_list.ts";
export {
  isExtendedResourceName,
  isIntegerResourceName,
  isStandardContainerResourceName,
  isStandardQuotaResourceName,
  isStandardResourceName,
  QUOTA_SCOPES,
  scopeValidForResource,
} from "./_names.ts";
export { podResources, type ScopeRequirement } from "./_pods.ts";

type Obj = Record<string, unknown>;

/** The quota's scopes as requirements: each `spec.scopes` entry as Exists, then the selector's. */
export function scopeRequirements(quota: KubeObject): ScopeRequirement[] {
  const spec = (quota.spec ?? {}) as {
    scopes?: string[];
    scopeSelector?: { matchExpressions?: ScopeRequirement[] };
  };
  return [
    ...(spec.scopes ?? []).map((scopeName) => ({ scopeName, operator: "Exists" })),
    ...(spec.scopeSelector?.matchExpressions ?? []),
  ];
}

function matchesScopes(quota: KubeObject, evaluator: Evaluator, obj: Obj): boolean {
  return scopeRequirements(quota).every((r) => evaluator.matchesScope(r, obj));
}

export interface QuotaWrite {
  /** The object as it will be stored (after every mutation). */
  object: Obj;
  /** The stored object, for an update. */
  old?: Obj;
  now: number;
}

/** A quota whose `status.used` the admitted write changes. */
export interface QuotaCharge {
  quota: KubeObject;
  used: ResourceList;
}

export type QuotaVerdict = { refused: string } | { charges: QuotaCharge[] };

/**
 * kube's quota admission check (CheckRequest) of one write against the namespace's quotas:
 * refuses with kube's wording (`exceeded quota: q, requested: …, used: …, limited: …`,
 * `failed quota: q: must specify …`, `status unknown for quota: …`), or names the new usage of
 * each quota the write is charged to. Only `status.hard` counts: a quota the controller has not
 * yet seen limits nothing.
 */
export function checkQuota(
  evaluator: Evaluator,
  quotas: KubeObject[],
  write: QuotaWrite,
): QuotaVerdict {
  if (write.old && !evaluator.chargesUpdates) return { charges: [] };
  const interesting: KubeObject[] = [];
  for (const quota of quotas) {
    if (!matchesScopes(quota, evaluator, write.object)) continue;
    const hard = parseResourceList((quota.status as Obj | undefined)?.hard);
    const restricted = evaluator.matchingResources(Object.keys(hard));
    if (restricted.length === 0) continue;
    const failed = evaluator.constraints(restricted, write.object);
    if (failed) return { refused: `failed quota: ${quota.metadata.name}: ${failed}` };
    const used = parseResourceList((quota.status as Obj | undefined)?.used);
    const unknown = restricted.filter((r) => !used[r]);
    if (unknown.length > 0) {
      return {
        refused: `status unknown for quota: ${quota.metadata.name}, resources: ${unknown.sort().join(",")}`,
      };
    }
    interesting.push(quota);
  }
  let delta = evaluator.usage(write.object, write.now);
  const negative = negatives(delta);
  if (negative.length > 0)
    return { refused: `quota usage is negative for resource(s): ${negative.sort().join(",")}` };
  if (write.old?.metadata && (write.old.metadata as Obj).resourceVersion)
    delta = subtractNonNegative(delta, evaluator.usage(write.old, write.now));
  delta = removeZeros(delta);
  if (Object.keys(delta).length === 0 || interesting.length === 0) return { charges: [] };
  const charges: QuotaCharge[] = [];
  for (const quota of interesting) {
    const status = (quota.status ?? {}) as Obj;
    const hard = parseResourceList(status.hard);
    const used = parseResourceList(status.used);
    const requested = mask(delta, Object.keys(hard));
    const next = addLists(used, requested);
    const exceeded = lessThanOrEqual(mask(next, Object.keys(requested)), hard);
    if (exceeded.length > 0) {
      return {
        refused: `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrint(mask(requested, exceeded))}, used: ${prettyPrint(mask(used, exceeded))}, limited: ${prettyPrint(mask(hard, exceeded))}`,
      };
    }
    charges.push({ quota, used: next });
  }
  return { charges };
}

/**
 * A quota's usage recounted (kube's CalculateUsage): for every evaluator its hard names call
 * for, the sum over the namespace's objects in the quota's scopes, zero when none. `objects`
 * answers undefined for a resource it cannot list; those names are left out of the result.
 */
export function calculateUsage(
  quota: KubeObject,
  objects: (evaluator: Evaluator) => Obj[] | undefined,
  now: number,
): ResourceList {
  const names = Object.keys(parseResourceList((quota.spec as Obj | undefined)?.hard));
  let used: ResourceList = {};
  for (const evaluator of evaluatorsForNames(names)) {
    const tracked = evaluator.matchingResources(names);
    const items = objects(evaluator);
    if (!items) continue;
    let sum: ResourceList = Object.fromEntries(tracked.map((n) => [n, ZERO_QUANTITY]));
    for (const item of items) {
      if (!matchesScopes(quota, evaluator, item)) continue;
      sum = addLists(sum, mask(evaluator.usage(item, now), tracked));
    }
    used = addLists(used, sum);
  }
  return used;
}
