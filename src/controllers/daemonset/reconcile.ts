/**
 * One sync of a DaemonSet, as kube's syncDaemonSet: claim its ControllerRevisions and find (or
 * make) the one of its template; unless creations or deletions it asked for are still unseen,
 * create and delete pods so that each node that should run the daemon has one (`_plan.ts`), then
 * take one RollingUpdate step (`_rolling.ts`; nothing for OnDelete), trim the history past
 * `revisionHistoryLimit`, and write the status (`_status.ts`). A DaemonSet being deleted, or one
 * selecting every pod, is left alone.
 *
 * Every write goes through the injected functions; the clock is `now()`; returns the requeue for
 * the next pod to turn available (minReadySeconds) or a failed-pod back-off to end, so nothing
 * sleeps.
 *
 * @module
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from "kubernetes-types/apps/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";
import { applyClaim, claim } from "../_claim.ts";
import type { Expectations } from "../_expectations.ts";
import { type HistoryDeps, resolveRevisions, sortRevisions } from "../_history.ts";
import { ownerRef } from "../_owners.ts";
import { slowStartBatch } from "../_slowstart.ts";
import type { FailedPodBackoff } from "./_backoff.ts";
import { planManage } from "./_plan.ts";
import { podForNode, podsByNode } from "./_pods.ts";
import { DAEMONSET, HASH_LABEL, hashOf, newDaemonSetRevision } from "./_revision.ts";
import { planRollingUpdate } from "./_rolling.ts";
import { statusCounts, statusCurrent } from "./_status.ts";

/** kube's BurstReplicas: at most this many creates, and as many deletes, per sync. */
export const BURST_REPLICAS = 250;

export interface DaemonSetDeps extends HistoryDeps {
  getDaemonSet(namespace: string, name: string): DaemonSet | undefined;
  listNodes(): Node[];
  /** Pods of the namespace the DaemonSet controls or that have no controller. */
  candidatePods(ds: DaemonSet): Pod[];
  /** The same for ControllerRevisions. */
  candidateRevisions(ds: DaemonSet): ControllerRevision[];
  /** Replaces the pod's owner references; resolves to the stored pod. */
  setPodOwners(pod: Pod, owners: OwnerReference[]): Promise<Pod>;
  setRevisionOwners(
    revision: ControllerRevision,
    owners: OwnerReference[],
  ): Promise<ControllerRevision>;
  createPod(pod: Pod): Promise<Pod>;
  /** Deletes the pod (uid precondition); a pod already gone is not an error. */
  deletePod(pod: Pod): Promise<void>;
  deleteRevision(revision: ControllerRevision): Promise<void>;
  /** Writes the counts, observedGeneration and collisionCount; other status fields stay. */
  writeStatus(ds: DaemonSet, status: DaemonSetStatus): Promise<void>;
  event(ds: DaemonSet, type: "Normal" | "Warning", reason: string, message: string): void;
  expectations: Expectations;
  backoff: FailedPodBackoff;
  now(): number;
  burstReplicas?: number;
}

const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";
const podKey = (p: Pod) => `${p.metadata?.namespace ?? ""}/${nameOf(p)}`;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function selectsEverything(ds: DaemonSet): boolean {
  const sel = ds.spec?.selector;
  return (
    sel !== undefined &&
    Object.keys(sel.matchLabels ?? {}).length === 0 &&
    (sel.matchExpressions ?? []).length === 0
  );
}

/** The state of one sync: the DaemonSet, its nodes and its revision hash. */
class Sync {
  readonly ref: OwnerReference;
  readonly nodes: Node[];
  backoffWait: number | undefined;

  constructor(
    readonly key: string,
    readonly ds: DaemonSet,
    readonly hash: string,
    readonly deps: DaemonSetDeps,
  ) {
    this.ref = ownerRef(ds, DAEMONSET);
    this.nodes = [...deps.listNodes()].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  }

  /** The DaemonSet's pods, orphans it matches adopted and strays released (each step re-reads). */
  async pods(): Promise<Pod[]> {
    const claimed = claim(this.ds, this.deps.candidatePods(this.ds));
    return applyClaim(claimed, this.ref, (p, owners) => this.deps.setPodOwners(p, owners));
  }

  async byNode(): Promise<Map<string, Pod[]>> {
    return podsByNode(await this.pods());
  }

  backoffKey(node: string): string {
    return `${this.ds.metadata?.uid ?? ""}/${this.ds.status?.observedGeneration ?? 0}/${node}`;
  }

  async manage(): Promise<void> {
    const now = this.deps.now();
    const plan = planManage({
      ds: this.ds,
      nodes: this.nodes,
      byNode: await this.byNode(),
      hash: this.hash,
      now,
      backoff: (node) => this.deps.backoff.waiting(this.backoffKey(node), now),
    });
    this.backoffWait = plan.backoffWait;
    const ns = this.ds.metadata?.namespace ?? "";
    const backedOff = new Set<string>();
    for (const { pod, node } of plan.failed) {
      if (!backedOff.has(node)) this.deps.backoff.next(this.backoffKey(node), now);
      backedOff.add(node);
      this.deps.event(
        this.ds,
        "Warning",
        "FailedDaemonPod",
        `Found failed daemon pod ${ns}/${nameOf(pod)} on node ${node}, will try to kill it`,
      );
    }
    for (const { pod, node } of plan.succeeded)
      this.deps.event(
        this.ds,
        "Normal",
        "SucceededDaemonPod",
        `Found succeeded daemon pod ${ns}/${nameOf(pod)} on node ${node}, will try to delete it`,
      );
    await this.syncNodes(plan.delete, plan.create);
  }

  async rollingUpdate(): Promise<void> {
    const plan = planRollingUpdate({
      ds: this.ds,
      nodes: this.nodes,
      byNode: await this.byNode(),
      hash: this.hash,
      now: this.deps.now(),
    });
    await this.syncNodes(plan.delete, plan.create);
  }

  /** kube's syncNodes: expectations first, creates in slow-start batches, then the deletes. */
  async syncNodes(deletes: readonly Pod[], creates: readonly string[]): Promise<void> {
    const burst = this.deps.burstReplicas ?? BURST_REPLICAS;
    const toCreate = creates.slice(0, burst);
    const toDelete = deletes.slice(0, burst);
    if (toCreate.length === 0 && toDelete.length === 0) return;
    const { expectations } = this.deps;
    expectations.expect(this.key, toCreate.length, toDelete.map(podKey));
    const errors: unknown[] = [];
    let attempted = 0;
    const { error } = await slowStartBatch(toCreate.length, async (i) => {
      attempted++;
      try {
        const created = await this.deps.createPod(
          podForNode(this.ds, this.hash, toCreate[i] ?? ""),
        );
        this.deps.event(this.ds, "Normal", "SuccessfulCreate", `Created pod: ${nameOf(created)}`);
      } catch (e) {
        // The informer will never see this pod: stop expecting it.
        expectations.creationObserved(this.key);
        if (isStatusError(e, "Forbidden") && message(e).includes("is being terminated")) return;
        this.deps.event(this.ds, "Warning", "FailedCreate", `Error creating: ${message(e)}`);
        throw e;
      }
    });
    if (error !== undefined) errors.push(error);
    // Creations skipped after a failing batch will not be observed either.
    for (let i = attempted; i < toCreate.length; i++) expectations.creationObserved(this.key);
    const results = await Promise.allSettled(
      toDelete.map(async (pod) => {
        try {
          await this.deps.deletePod(pod);
          this.deps.event(this.ds, "Normal", "SuccessfulDelete", `Deleted pod: ${nameOf(pod)}`);
        } catch (e) {
          expectations.deletionObserved(this.key, podKey(pod));
          if (isStatusError(e, "NotFound")) return;
          this.deps.event(this.ds, "Warning", "FailedDelete", `Error deleting: ${message(e)}`);
          throw e;
        }
      }),
    );
    for (const r of results) if (r.status === "rejected") errors.push(r.reason);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, errors.map(message).join(", "));
  }

  /** kube's cleanupHistory: the oldest old revisions no pod carries, past the limit. */
  async cleanupHistory(old: readonly ControllerRevision[]): Promise<void> {
    const limit = this.ds.spec?.revisionHistoryLimit ?? 10;
    let excess = old.length - limit;
    if (excess <= 0) return;
    const live = new Set((await this.pods()).map(hashOf).filter((h) => h !== ""));
    for (const revision of sortRevisions(old)) {
      if (excess <= 0) break;
      if (live.has(hashOf(revision))) continue;
      await this.deps.deleteRevision(revision);
      excess--;
    }
  }

  /** Writes the status counts when they changed; the requeue for minReadySeconds and back-offs. */
  async status(observed: boolean, collisionCount: number): Promise<ReconcileResult> {
    const counts = statusCounts({
      ds: this.ds,
      nodes: this.nodes,
      byNode: await this.byNode(),
      hash: this.hash,
      now: this.deps.now(),
    });
    const count = collisionCount > 0 ? collisionCount : this.ds.status?.collisionCount;
    if (!statusCurrent(this.ds, counts, count)) {
      const status: DaemonSetStatus = { ...counts };
      const generation = this.ds.metadata?.generation;
      const seen = observed ? generation : this.ds.status?.observedGeneration;
      if (seen !== undefined) status.observedGeneration = seen;
      if (count !== undefined) status.collisionCount = count;
      await this.deps.writeStatus(this.ds, status);
    }
    const minReady = this.ds.spec?.minReadySeconds ?? 0;
    const waits = [
      ...(minReady > 0 && counts.numberReady !== counts.numberAvailable ? [minReady * 1000] : []),
      ...(this.backoffWait !== undefined ? [this.backoffWait] : []),
    ];
    return waits.length > 0 ? { requeueAfter: Math.min(...waits) } : undefined;
  }
}

export async function reconcileDaemonSet(
  key: string,
  deps: DaemonSetDeps,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const ds = deps.getDaemonSet(namespace, name);
  if (!ds) {
    deps.expectations.forget(key);
    return;
  }
  if (selectsEverything(ds)) {
    deps.event(
      ds,
      "Warning",
      "SelectingAll",
      "This daemon set is selecting all pods. A non-empty selector is required.",
    );
    return;
  }
  // Its history and pods may be going away already: nothing reliable to do or report.
  if (ds.metadata?.deletionTimestamp) return;

  const ref = ownerRef(ds, DAEMONSET);
  const owned = await applyClaim(claim(ds, deps.candidateRevisions(ds)), ref, (r, owners) =>
    deps.setRevisionOwners(r, owners),
  );
  const revisions = await resolveRevisions(owned, deps, {
    make: (revision, collisionCount) => newDaemonSetRevision(ds, revision, collisionCount),
    collisionCount: ds.status?.collisionCount,
  });
  const hash = revisions.update.metadata?.labels?.[HASH_LABEL] ?? "";
  const old = revisions.all.filter((r) => nameOf(r) !== nameOf(revisions.update));
  const sync = new Sync(key, ds, hash, deps);

  if (!deps.expectations.satisfied(key)) return sync.status(false, revisions.collisionCount);
  let failure: unknown;
  try {
    await sync.manage();
    if (
      deps.expectations.satisfied(key) &&
      (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate"
    )
      await sync.rollingUpdate();
    await sync.cleanupHistory(old);
  } catch (e) {
    failure = e;
  }
  try {
    const result = await sync.status(true, revisions.collisionCount);
    if (failure === undefined) return result;
  } catch (e) {
    if (failure === undefined) throw e;
  }
  throw failure;
}
