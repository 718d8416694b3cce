/**
 * One sync of a Deployment, as kube's `syncDeployment`: claim its ReplicaSets, then — in this
 * order — status only when it is being deleted; scaling only (proportionally, no rollout) when
 * paused or when `spec.replicas` changed; otherwise one step of the Recreate or RollingUpdate
 * strategy, old-set cleanup past `revisionHistoryLimit` once complete, and the rollout status
 * with its conditions. Every write goes through the injected functions; returns a requeue for
 * the progress deadline, so nothing sleeps.
 *
 * @module
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/runner.ts";
import { canonicalJson } from "../_hash.ts";
import { controllerOf, ownerRef } from "../_owners.ts";
import {
  byCreation,
  cleanupUnhealthy,
  DESIRED_REPLICAS,
  desiredReplicasAnnotation,
  MAX_REPLICAS,
  maxScaledDown,
  maxSurge,
  newReplicaSetReplicas,
  proportionalSizes,
  scaleDownOldForRolling,
  specReplicas,
  sumSpec,
  sumStatus,
} from "./_arith.ts";
import { DEPLOYMENT, findNewReplicaSet, newReplicaSetFor } from "./_newrs.ts";
import {
  equalIgnoreHash,
  maxRevision,
  REVISION,
  revisionOf,
  setNewReplicaSetAnnotations,
} from "./_revision.ts";
import {
  calculateStatus,
  deploymentComplete,
  getCondition,
  hasProgressDeadline,
  newCondition,
  REASONS,
  removeCondition,
  rolloutConditions,
  setCondition,
  untilDeadline,
} from "./_status.ts";

export interface DeploymentDeps {
  getDeployment(namespace: string, name: string): Deployment | undefined;
  listReplicaSets(namespace: string): ReplicaSet[];
  listPods(namespace: string): Pod[];
  createReplicaSet(rs: ReplicaSet): Promise<ReplicaSet>;
  /** Replace (with resourceVersion); a conflict is thrown and the sync retried. */
  updateReplicaSet(rs: ReplicaSet): Promise<ReplicaSet>;
  deleteReplicaSet(rs: ReplicaSet): Promise<void>;
  setReplicaSetOwners(rs: ReplicaSet, owners: OwnerReference[]): Promise<void>;
  /** Sets the Deployment's `deployment.kubernetes.io/revision` annotation. */
  setDeploymentRevision(d: Deployment, revision: string): Promise<void>;
  /** Writes the whole status (fields absent from `status` are cleared). */
  writeStatus(d: Deployment, status: DeploymentStatus): Promise<void>;
  event(d: Deployment, type: "Normal" | "Warning", reason: string, message: string): void;
  now(): number;
}

const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";

/** The state of one sync: the Deployment (its status edited as kube edits its copy) and its sets. */
class Sync {
  readonly original: DeploymentStatus;
  sets: ReplicaSet[] = [];

  constructor(
    readonly d: Deployment,
    readonly deps: DeploymentDeps,
  ) {
    this.original = structuredClone(d.status ?? {});
  }

  get status(): DeploymentStatus {
    const s = (this.d as { status?: DeploymentStatus }).status ?? {};
    (this.d as { status?: DeploymentStatus }).status = s;
    return s;
  }

  get replicas(): number {
    return this.d.spec?.replicas ?? 1;
  }

  replace(rs: ReplicaSet): void {
    this.sets = this.sets.map((s) => (nameOf(s) === nameOf(rs) ? rs : s));
  }

  async claim(all: readonly ReplicaSet[]): Promise<void> {
    const selector = selectorFromLabelSelector(this.d.spec?.selector);
    const uid = this.d.metadata?.uid;
    const deleting = Boolean(this.d.metadata?.deletionTimestamp);
    for (const rs of all) {
      const ref = controllerOf(rs);
      const match = matches(selector, rs.metadata?.labels ?? {});
      const owners = rs.metadata?.ownerReferences ?? [];
      if (ref) {
        if (ref.uid !== uid) continue;
        if (match) this.sets.push(rs);
        else if (!deleting)
          await this.deps.setReplicaSetOwners(
            rs,
            owners.filter((o) => o.uid !== uid),
          );
        continue;
      }
      if (deleting || !match || rs.metadata?.deletionTimestamp) continue;
      await this.deps.setReplicaSetOwners(rs, [...owners, ownerRef(this.d, DEPLOYMENT)]);
      this.sets.push(rs);
    }
  }

  split(): { newSet: ReplicaSet | undefined; old: ReplicaSet[] } {
    const newSet = findNewReplicaSet(this.d, this.sets);
    return { newSet, old: this.sets.filter((s) => s !== newSet) };
  }

  async setRevision(revision: string): Promise<void> {
    if (this.d.metadata?.annotations?.[REVISION] === revision) return;
    await this.deps.setDeploymentRevision(this.d, revision);
  }

  /** kube's getNewReplicaSet: syncs the new set's annotations, or creates it when `create`. */
  async newReplicaSet(create: boolean): Promise<ReplicaSet | undefined> {
    const { newSet: existing, old } = this.split();
    const revision = maxRevision(old) + 1;
    if (existing) {
      const annotations = { ...(existing.metadata?.annotations ?? {}) };
      const changed = setNewReplicaSetAnnotations(this.d, annotations, revision, { exists: true });
      const minReady = this.d.spec?.minReadySeconds ?? 0;
      if (changed || (existing.spec?.minReadySeconds ?? 0) !== minReady) {
        const copy = structuredClone(existing);
        copy.metadata = { ...copy.metadata, annotations };
        if (copy.spec) copy.spec.minReadySeconds = minReady;
        const updated = await this.deps.updateReplicaSet(copy);
        this.replace(updated);
        return updated;
      }
      await this.setRevision(String(revisionOf(existing) || revision));
      if (hasProgressDeadline(this.d) && !getCondition(this.status, "Progressing")) {
        const msg = `Found new replica set "${nameOf(existing)}"`;
        setCondition(
          this.status,
          newCondition("Progressing", "True", REASONS.foundNewRS, msg, this.deps.now()),
        );
      }
      return existing;
    }
    if (!create) return undefined;
    const stub = newReplicaSetFor(this.d, { revision, replicas: 0 });
    const replicas = newReplicaSetReplicas(this.d, [...old, stub], stub);
    const want = newReplicaSetFor(this.d, { revision, replicas });
    let created: ReplicaSet;
    let existed = false;
    try {
      created = await this.deps.createReplicaSet(want);
    } catch (e) {
      if (!isStatusError(e, "AlreadyExists")) throw e;
      const namesake = this.deps
        .listReplicaSets(this.d.metadata?.namespace ?? "")
        .find((rs) => nameOf(rs) === nameOf(want));
      // Not in the cache yet (our own create from a sync the cache has not caught up with):
      // retry later rather than call it a collision.
      if (!namesake) throw e;
      if (
        controllerOf(namesake)?.uid !== this.d.metadata?.uid ||
        !equalIgnoreHash(namesake.spec?.template, this.d.spec?.template)
      ) {
        // A set of that name with another template: a hash collision. Count it so that the
        // next sync hashes differently (kube's collisionCount).
        this.status.collisionCount = (this.status.collisionCount ?? 0) + 1;
        await this.writeStatus();
        throw e;
      }
      created = namesake;
      existed = true;
    }
    if (!this.sets.includes(created)) this.sets.push(created);
    if (existed) return created;
    if (replicas > 0)
      this.deps.event(
        this.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${nameOf(created)} from 0 to ${replicas}`,
      );
    await this.setRevision(String(revision));
    if (hasProgressDeadline(this.d)) {
      const msg = `Created new replica set "${nameOf(created)}"`;
      setCondition(
        this.status,
        newCondition("Progressing", "True", REASONS.newRSCreated, msg, this.deps.now()),
      );
    }
    return created;
  }

  /** kube's scaleReplicaSet: size and replica annotations; an event when the size changes. */
  async scale(rs: ReplicaSet, size: number): Promise<boolean> {
    const from = specReplicas(rs);
    const annotations = { ...(rs.metadata?.annotations ?? {}) };
    const desired = String(this.replicas);
    const max = String(this.replicas + maxSurge(this.d));
    const annotationsChanged =
      annotations[DESIRED_REPLICAS] !== desired || annotations[MAX_REPLICAS] !== max;
    if (from === size && !annotationsChanged) return false;
    annotations[DESIRED_REPLICAS] = desired;
    annotations[MAX_REPLICAS] = max;
    const copy = structuredClone(rs);
    copy.metadata = { ...copy.metadata, annotations };
    copy.spec = { ...copy.spec, replicas: size } as NonNullable<ReplicaSet["spec"]>;
    const updated = await this.deps.updateReplicaSet(copy);
    this.replace(updated);
    if (from !== size)
      this.deps.event(
        this.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${size > from ? "up" : "down"} replica set ${nameOf(rs)} from ${from} to ${size}`,
      );
    return from !== size;
  }

  /** Scales only if the size differs (kube's scaleReplicaSetAndRecordEvent). */
  async scaleTo(rs: ReplicaSet, size: number): Promise<boolean> {
    return specReplicas(rs) === size ? false : this.scale(rs, size);
  }

  async writeStatus(): Promise<void> {
    await this.deps.writeStatus(this.d, this.status);
  }

  /** Writes `next` when it differs from the status this sync started from. */
  async finish(next: DeploymentStatus): Promise<void> {
    // Zero counters are absent on the wire (omitempty): compare without them.
    const bare = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== 0));
    if (canonicalJson(bare) !== canonicalJson(this.original))
      await this.deps.writeStatus(this.d, next);
  }
}

function isScalingEvent(s: Sync): boolean {
  return s.sets.some((rs) => {
    if (specReplicas(rs) === 0) return false;
    const desired = desiredReplicasAnnotation(rs);
    return desired !== undefined && desired !== s.replicas;
  });
}

/** kube's `scale`: one active set takes all; a saturated new set empties the old; else share. */
async function scale(s: Sync): Promise<void> {
  const { newSet, old } = s.split();
  const active = s.sets.filter((rs) => specReplicas(rs) > 0);
  let target: ReplicaSet | undefined;
  if (active.length === 1) target = active[0];
  else if (active.length === 0) target = newSet ?? [...old].sort(byCreation).reverse()[0];
  if (target) {
    await s.scaleTo(target, s.replicas);
    return;
  }
  if (
    newSet &&
    specReplicas(newSet) === s.replicas &&
    desiredReplicasAnnotation(newSet) === s.replicas &&
    (newSet.status?.availableReplicas ?? 0) === s.replicas
  ) {
    for (const rs of old) await s.scaleTo(rs, 0);
    return;
  }
  if ((s.d.spec?.strategy?.type ?? "RollingUpdate") !== "RollingUpdate") return;
  const sizes = proportionalSizes(s.d, active);
  for (const rs of active) await s.scale(rs, sizes.get(nameOf(rs)) ?? specReplicas(rs));
}

async function cleanup(s: Sync, old: readonly ReplicaSet[]): Promise<void> {
  const limit = s.d.spec?.revisionHistoryLimit;
  if (limit === undefined) return;
  const alive = old.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return;
  alive.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of alive.slice(0, diff)) {
    if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await s.deps.deleteReplicaSet(rs);
    } catch (e) {
      if (!isStatusError(e, "NotFound")) throw e;
    }
  }
}

function replicaFailure(newSet: ReplicaSet | undefined, old: readonly ReplicaSet[]) {
  for (const rs of [...(newSet ? [newSet] : []), ...old]) {
    const c = rs.status?.conditions?.find((x) => x.type === "ReplicaFailure");
    if (c) return c;
  }
  return undefined;
}

async function syncRolloutStatus(s: Sync): Promise<ReconcileResult> {
  const { newSet, old } = s.split();
  const now = s.deps.now();
  const next = calculateStatus(s.d, s.sets, newSet, now);
  rolloutConditions(s.d, next, newSet, now);
  const failure = replicaFailure(newSet, old);
  if (failure) {
    const t = failure.lastTransitionTime ?? "";
    setCondition(next, {
      type: "ReplicaFailure",
      status: failure.status,
      reason: failure.reason ?? "",
      message: failure.message ?? "",
      lastUpdateTime: t,
      lastTransitionTime: t,
    });
  } else removeCondition(next, "ReplicaFailure");
  await s.finish(next);
  const wait = untilDeadline(s.d, next, now);
  return wait === undefined ? undefined : { requeueAfter: wait };
}

/** kube's syncDeploymentStatus: the counts, no rollout conditions. */
async function syncStatusOnly(s: Sync): Promise<void> {
  await s.finish(calculateStatus(s.d, s.sets, s.split().newSet, s.deps.now()));
}

async function rolloutRolling(s: Sync): Promise<ReconcileResult> {
  const newSet = await s.newReplicaSet(true);
  if (!newSet) return syncRolloutStatus(s);
  // Scale the new set up (or down to spec) first.
  let fresh = s.sets.find((x) => nameOf(x) === nameOf(newSet)) ?? newSet;
  if (specReplicas(fresh) !== s.replicas) {
    const size =
      specReplicas(fresh) > s.replicas ? s.replicas : newReplicaSetReplicas(s.d, s.sets, fresh);
    if (await s.scaleTo(fresh, size)) return syncRolloutStatus(s);
  }
  // Then the old ones, unhealthy pods first, within maxUnavailable.
  let { old } = s.split();
  fresh = s.sets.find((x) => nameOf(x) === nameOf(newSet)) ?? newSet;
  if (sumSpec(old) > 0) {
    const budget = maxScaledDown(s.d, s.sets, fresh);
    if (budget > 0) {
      let scaled = false;
      for (const [name, size] of cleanupUnhealthy(old, budget)) {
        const rs = s.sets.find((x) => nameOf(x) === name);
        if (rs && (await s.scaleTo(rs, size))) scaled = true;
      }
      old = s.split().old;
      for (const [name, size] of scaleDownOldForRolling(s.d, s.sets, old)) {
        const rs = s.sets.find((x) => nameOf(x) === name);
        if (rs && (await s.scaleTo(rs, size))) scaled = true;
      }
      if (scaled) return syncRolloutStatus(s);
    }
  }
  if (deploymentComplete(s.d, s.d.status ?? {})) await cleanup(s, s.split().old);
  return syncRolloutStatus(s);
}

function oldPodsRunning(s: Sync, old: readonly ReplicaSet[]): boolean {
  if (sumStatus(old, "replicas") > 0) return true;
  const uids = new Set(old.map((rs) => rs.metadata?.uid));
  return s.deps
    .listPods(s.d.metadata?.namespace ?? "")
    .filter((p) => uids.has(controllerOf(p)?.uid))
    .some((p) => p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded");
}

async function rolloutRecreate(s: Sync): Promise<ReconcileResult> {
  let newSet = await s.newReplicaSet(false);
  let scaled = false;
  for (const rs of s.split().old)
    if (specReplicas(rs) > 0 && (await s.scaleTo(rs, 0))) scaled = true;
  if (scaled) return syncRolloutStatus(s);
  if (oldPodsRunning(s, s.split().old)) return syncRolloutStatus(s);
  if (!newSet) newSet = await s.newReplicaSet(true);
  const fresh = s.sets.find((x) => nameOf(x) === nameOf(newSet ?? {}));
  if (fresh) await s.scaleTo(fresh, s.replicas);
  if (deploymentComplete(s.d, s.d.status ?? {})) await cleanup(s, s.split().old);
  return syncRolloutStatus(s);
}

/** kube's checkPausedConditions: Progressing Unknown while paused, and once on resume. */
function pausedConditions(s: Sync): void {
  if (!hasProgressDeadline(s.d)) return;
  const cond = getCondition(s.status, "Progressing");
  if (cond?.reason === REASONS.timedOut) return;
  const pausedCond = cond?.reason === REASONS.paused;
  const now = s.deps.now();
  if (s.d.spec?.paused && !pausedCond)
    setCondition(
      s.status,
      newCondition("Progressing", "Unknown", REASONS.paused, "Deployment is paused", now),
    );
  else if (!s.d.spec?.paused && pausedCond)
    setCondition(
      s.status,
      newCondition("Progressing", "Unknown", REASONS.resumed, "Deployment is resumed", now),
    );
}

export async function reconcileDeployment(
  key: string,
  deps: DeploymentDeps,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const live = deps.getDeployment(namespace, name);
  if (!live) return;
  const d = structuredClone(live);
  const s = new Sync(d, deps);
  const sel = d.spec?.selector;
  if (
    !sel ||
    (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)
  ) {
    deps.event(
      d,
      "Warning",
      "SelectingAll",
      "This deployment is selecting all pods. A non-empty selector is required.",
    );
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
      await s.finish({ ...s.status, observedGeneration: d.metadata?.generation ?? 0 });
    return;
  }
  await s.claim(deps.listReplicaSets(namespace));
  if (d.metadata?.deletionTimestamp) {
    await s.newReplicaSet(false);
    await syncStatusOnly(s);
    return;
  }
  pausedConditions(s);
  if (d.spec?.paused || isScalingEvent(s)) {
    await s.newReplicaSet(false);
    await scale(s);
    if (d.spec?.paused) await cleanup(s, s.split().old);
    await syncStatusOnly(s);
    return;
  }
  if (d.spec?.strategy?.type === "Recreate") return rolloutRecreate(s);
  return rolloutRolling(s);
}
