/**
 * One sync of a ReplicaSet, as kube's `syncReplicaSet`: claim the active pods (adopt matching
 * orphans, release owned pods that no longer match), create or delete pods toward
 * `spec.replicas` when the expectations say the cache can be trusted, then write the status.
 * Dependencies come in as plain functions, so this runs in tests without a server.
 *
 * @module
 */
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/runner.ts";
import type { Expectations } from "../_expectations.ts";
import { controllerOf, type ObjectType, ownerRef } from "../_owners.ts";
import { isActive, untilAvailable } from "../_podutil.ts";
import { slowStartBatch } from "../_slowstart.ts";
import { podsToDelete } from "./_rank.ts";
import { type ManageError, replicaSetStatus } from "./_status.ts";

/** kube's burstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;

export interface ReplicaSetDeps {
  getReplicaSet(namespace: string, name: string): ReplicaSet | undefined;
  /**
   * The pods of the namespace the set may claim: those it controls and those without a
   * controller (every pod of the namespace is correct too; claiming skips the rest).
   */
  listPods(namespace: string, rs: ReplicaSet): Pod[];
  /** Active pods of the sets sharing this set's controller (for node crowding), or undefined. */
  relatedPods?(rs: ReplicaSet): Pod[] | undefined;
  createPod(namespace: string, pod: Pod): Promise<Pod>;
  deletePod(namespace: string, name: string): Promise<void>;
  /** Replaces the pod's ownerReferences (adoption and release). */
  setPodOwners(pod: Pod, owners: OwnerReference[]): Promise<void>;
  writeStatus(rs: ReplicaSet, status: NonNullable<ReplicaSet["status"]>): Promise<void>;
  event(rs: ReplicaSet, type: "Normal" | "Warning", reason: string, message: string): void;
  expectations: Expectations;
  now(): number;
  burstReplicas?: number;
  /**
   * The kind pods are owned by: ReplicaSet, or ReplicationController when this sync runs for one
   * converted to a ReplicaSet (kube runs the same controller for both).
   */
  owner?: ObjectType;
}

export const REPLICASET = { apiVersion: "apps/v1", kind: "ReplicaSet" } as const;

/** The pod a set creates: its template, `generateName: <set>-`, owned by the set. */
export function podFromTemplate(rs: ReplicaSet, owner: ObjectType = REPLICASET): Pod {
  const t = rs.spec?.template;
  const meta = t?.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${rs.metadata?.name ?? ""}-`,
      namespace: rs.metadata?.namespace ?? "",
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ownerRef(rs, owner)],
    },
    spec: structuredClone(t?.spec ?? { containers: [] }),
  };
}

const podKey = (p: Pod) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;

/** Adopts matching orphans and releases owned pods the selector no longer matches. */
async function claimPods(rs: ReplicaSet, pods: Pod[], deps: ReplicaSetDeps): Promise<Pod[]> {
  const selector = selectorFromLabelSelector(rs.spec?.selector);
  const uid = rs.metadata?.uid;
  const deleting = Boolean(rs.metadata?.deletionTimestamp);
  const claimed: Pod[] = [];
  for (const pod of pods) {
    const ref = controllerOf(pod);
    const match = matches(selector, pod.metadata?.labels ?? {});
    const owners = pod.metadata?.ownerReferences ?? [];
    if (ref) {
      if (ref.uid !== uid) continue;
      if (match) claimed.push(pod);
      else if (!deleting)
        await ignoreGone(
          deps.setPodOwners(
            pod,
            owners.filter((o) => o.uid !== uid),
          ),
        );
      continue;
    }
    if (deleting || !match || pod.metadata?.deletionTimestamp) continue;
    const mine = ownerRef(rs, deps.owner ?? REPLICASET);
    const adopted = await ignoreGone(deps.setPodOwners(pod, [...owners, mine]));
    if (adopted) claimed.push(pod);
  }
  return claimed;
}

async function ignoreGone(p: Promise<void>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (isStatusError(e, "NotFound")) return false;
    throw e;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function manageReplicas(
  key: string,
  rs: ReplicaSet,
  pods: Pod[],
  deps: ReplicaSetDeps,
): Promise<ManageError | undefined> {
  const burst = deps.burstReplicas ?? BURST_REPLICAS;
  const want = rs.spec?.replicas ?? 1;
  const ns = rs.metadata?.namespace ?? "";
  const diff = pods.length - want;
  if (diff < 0) {
    const count = Math.min(-diff, burst);
    deps.expectations.expectCreations(key, count);
    let attempted = 0;
    const { error } = await slowStartBatch(count, async () => {
      attempted++;
      try {
        const created = await deps.createPod(ns, podFromTemplate(rs, deps.owner));
        deps.event(
          rs,
          "Normal",
          "SuccessfulCreate",
          `Created pod: ${created.metadata?.name ?? ""}`,
        );
      } catch (e) {
        deps.event(rs, "Warning", "FailedCreate", `Error creating: ${message(e)}`);
        // The informer will never see this pod: stop expecting it.
        deps.expectations.creationObserved(key);
        throw e;
      }
    });
    // Creations skipped after a failing batch will not be observed either.
    for (let i = attempted; i < count; i++) deps.expectations.creationObserved(key);
    return error === undefined ? undefined : { reason: "FailedCreate", message: message(error) };
  }
  if (diff > 0) {
    const count = Math.min(diff, burst);
    const victims = podsToDelete(pods, count, {
      related: deps.relatedPods?.(rs) ?? pods,
      now: deps.now(),
    });
    deps.expectations.expectDeletions(key, victims.map(podKey));
    const results = await Promise.allSettled(
      victims.map(async (p) => {
        try {
          await deps.deletePod(ns, p.metadata?.name ?? "");
          deps.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata?.name ?? ""}`);
        } catch (e) {
          deps.expectations.deletionObserved(key, podKey(p));
          if (isStatusError(e, "NotFound")) return;
          deps.event(rs, "Warning", "FailedDelete", `Error deleting: ${message(e)}`);
          throw e;
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    return failed ? { reason: "FailedDelete", message: message(failed.reason) } : undefined;
  }
  return undefined;
}

/** JSON with sorted keys, so that equal statuses compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

export async function reconcileReplicaSet(
  key: string,
  deps: ReplicaSetDeps,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const rs = deps.getReplicaSet(namespace, name);
  if (!rs) {
    deps.expectations.forget(key);
    return;
  }
  const needsSync = deps.expectations.satisfied(key);
  const active = deps.listPods(namespace, rs).filter(isActive);
  const pods = await claimPods(rs, active, deps);
  const error =
    needsSync && !rs.metadata?.deletionTimestamp
      ? await manageReplicas(key, rs, pods, deps)
      : undefined;
  const now = deps.now();
  const status = replicaSetStatus(rs, pods, { now, error });
  if (!sameStatus(status, rs.status)) await deps.writeStatus(rs, status);
  if (error) throw new Error(`${error.reason}: ${error.message}`);
  // Requeue for the moment the next ready pod turns available (minReadySeconds).
  const waits = pods
    .map((p) => untilAvailable(p, rs.spec?.minReadySeconds ?? 0, now))
    .filter((w): w is number => w !== undefined);
  return waits.length ? { requeueAfter: Math.min(...waits) } : undefined;
}
