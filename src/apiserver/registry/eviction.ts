/**
 * `pods/eviction` (a policy/v1 Eviction), as kube-apiserver's eviction REST: a pod is deleted
 * (with the Eviction's `deleteOptions`) unless a PodDisruptionBudget forbids it.
 * - A pod already being deleted, finished (Succeeded, Failed) or still Pending, or one no budget
 *   selects, is deleted at once.
 * - More than one budget selecting the pod is a 500 (`This pod has more than one
 *   PodDisruptionBudget, which the eviction subresource does not support.`).
 * - A pod that is not Ready is deleted without using the budget when the budget's
 *   `unhealthyPodEvictionPolicy` is AlwaysAllow, or (IfHealthyBudget, the default) when the
 *   budget is met (currentHealthy ≥ desiredHealthy > 0).
 * - Otherwise the budget must allow a disruption: a budget its controller has not yet observed,
 *   or with no disruptions allowed, answers 429 `Cannot evict pod as it would violate the pod's
 *   disruption budget.` with a DisruptionBudget cause; else its `disruptionsAllowed` is lowered
 *   and the pod recorded in `disruptedPods` (so the controller does not count it healthy while
 *   it goes) in the same synchronous step as the delete.
 * The pod gets kube's `DisruptionTarget` condition before it is deleted. Answers a Success
 * Status (201).
 *
 * @module
 */
import { badRequest, notFound, StatusError } from "../../api/errors.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import type { KubeObject } from "../../api/types.ts";
import type { DeleteOptions } from "../../api/verbs.ts";
import { findResource, storeKey, storePrefix } from "../resources.ts";
import type { RegistryContext, SubresourceCreate } from "./_context.ts";
import { rfc3339 } from "./_meta.ts";
import { del } from "./delete.ts";

const PDBS = findResource("policy", "poddisruptionbudgets");
const MAX_DISRUPTED_PODS = 2000;
export const EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget.";

interface Budget extends KubeObject {
  spec?: {
    selector?: Parameters<typeof selectorFromLabelSelector>[0];
    unhealthyPodEvictionPolicy?: string;
  };
  status?: {
    observedGeneration?: number;
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
    disruptedPods?: Record<string, string>;
    conditions?: Array<Record<string, unknown>>;
  };
}

function isReady(pod: KubeObject): boolean {
  const conditions = (pod.status as { conditions?: Array<{ type?: string; status?: string }> })
    ?.conditions;
  return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function selects(pdb: Budget, pod: KubeObject): boolean {
  try {
    return matches(selectorFromLabelSelector(pdb.spec?.selector), pod.metadata.labels);
  } catch {
    return false;
  }
}

function tooManyRequests(cause: string): StatusError {
  return new StatusError(429, "TooManyRequests", EVICTION_REFUSED, {
    causes: [{ reason: "DisruptionBudget", message: cause }],
  });
}

/** checkAndDecrement: refuses, or returns the budget with one disruption used for `pod`. */
function useDisruption(pdb: Budget, podName: string, now: Date): Budget {
  const status = pdb.status ?? {};
  const name = pdb.metadata.name ?? "";
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0))
    throw tooManyRequests(`The disruption budget ${name} is still being processed by the server.`);
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw new StatusError(403, "Forbidden", "pdb disruptions allowed is negative");
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
    throw new StatusError(
      403,
      "Forbidden",
      "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
    );
  if (allowed === 0)
    throw tooManyRequests(
      `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`,
    );
  const next = structuredClone(pdb) as Budget;
  const nextStatus = { ...next.status };
  next.status = nextStatus;
  nextStatus.disruptionsAllowed = allowed - 1;
  nextStatus.disruptedPods = { ...nextStatus.disruptedPods, [podName]: rfc3339(now) };
  if (nextStatus.disruptionsAllowed === 0) {
    const conditions = (nextStatus.conditions ?? []).filter((c) => c.type !== "DisruptionAllowed");
    conditions.push({
      type: "DisruptionAllowed",
      status: "False",
      reason: "InsufficientPods",
      message: "",
      observedGeneration: status.observedGeneration ?? 0,
      lastTransitionTime: rfc3339(now),
    });
    nextStatus.conditions = conditions;
  }
  return next;
}

const SUCCESS = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  code: 201,
} as unknown as KubeObject;

/** The `pods/eviction` create. */
export const evictPod: SubresourceCreate = (ctx, target, body, options) => {
  const { info, namespace, name } = target;
  const eviction = body as KubeObject & { deleteOptions?: DeleteOptions };
  if (eviction.metadata?.name && eviction.metadata.name !== name)
    throw badRequest("name in URL does not match name in Eviction object");
  const deleteOptions: DeleteOptions = {
    ...eviction.deleteOptions,
    ...(options?.dryRun ? { dryRun: true } : {}),
  };
  const pod = ctx.store.get(storeKey(info, namespace, name));
  if (!pod) throw notFound(info.resource, info.group, name);
  const remove = () => {
    if (!deleteOptions.dryRun) markDisruptionTarget(ctx, storeKey(info, namespace, name));
    del(ctx, info, namespace, name, deleteOptions);
    return SUCCESS;
  };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (pod.metadata.deletionTimestamp) return remove();
  if (phase === "Succeeded" || phase === "Failed" || phase === "Pending") return remove();
  const budgets = PDBS ? budgetsOf(ctx, namespace, pod) : [];
  if (budgets.length > 1)
    throw new StatusError(
      500,
      "InternalError",
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  const pdb = budgets[0];
  if (!pdb) return remove();
  if (!isReady(pod)) {
    if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return remove();
    const healthy = pdb.status?.currentHealthy ?? 0;
    const desired = pdb.status?.desiredHealthy ?? 0;
    if (desired > 0 && healthy >= desired) return remove();
  }
  const next = useDisruption(pdb, name, ctx.now());
  if (deleteOptions.dryRun) return SUCCESS;
  const key = storeKey(PDBS!, namespace, pdb.metadata.name ?? "");
  const stored = ctx.store.update(key, next, Number(pdb.metadata.resourceVersion));
  try {
    return remove();
  } catch (e) {
    // The pod was not deleted: give the disruption back.
    if (ctx.store.get(key)?.metadata.resourceVersion === stored.metadata.resourceVersion)
      ctx.store.update(key, structuredClone(pdb), Number(stored.metadata.resourceVersion));
    throw e;
  }
};

/**
 * The pod's `DisruptionTarget` condition (PodDisruptionConditions, GA in 1.31), set before the
 * delete as kube's eviction does, so the pod's controllers and the kubelet see why it goes.
 */
function markDisruptionTarget(ctx: RegistryContext, key: string): void {
  const pod = ctx.store.get(key);
  if (!pod || pod.metadata.deletionTimestamp) return;
  const status = (pod.status ?? {}) as { phase?: string; conditions?: Array<{ type?: string }> };
  if (status.phase === "Succeeded" || status.phase === "Failed") return;
  const next = structuredClone(pod) as KubeObject & { status?: Record<string, unknown> };
  next.status = {
    ...status,
    conditions: [
      ...(status.conditions ?? []).filter((c) => c.type !== "DisruptionTarget"),
      {
        type: "DisruptionTarget",
        status: "True",
        lastTransitionTime: rfc3339(ctx.now()),
        reason: "EvictionByEvictionAPI",
        message: "Eviction API: evicting",
      },
    ],
  };
  ctx.store.update(key, next, Number(pod.metadata.resourceVersion));
}

function budgetsOf(ctx: RegistryContext, namespace: string, pod: KubeObject): Budget[] {
  return (ctx.store.list(storePrefix(PDBS!, namespace)).items as Budget[]).filter((b) =>
    selects(b, pod),
  );
}
