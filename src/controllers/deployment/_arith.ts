/**
 * The rollout arithmetic of kube's deployment_util.go, as pure functions of plain numbers and
 * ReplicaSets: surge and unavailability fenceposts, the new set's next size, how far old sets
 * may shrink, and proportional scaling across sets during a rollout.
 *
 * @module
 */
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";

export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";

/** intstr.GetScaledValueFromIntOrPercent: "25%" of 10 is 2.5, rounded up or down. */
export function scaledValue(
  value: number | string | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) {
    const n = Number.parseInt(value, 10);
    if (Number.isNaN(n)) throw new Error(`invalid value for IntOrString: ${value}`);
    return n;
  }
  const v = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(v) : Math.floor(v);
}

/** Surge rounds up, unavailability down; both 0 would deadlock, so unavailability becomes 1. */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

const replicasOf = (d: Deployment) => d.spec?.replicas ?? 1;
const isRolling = (d: Deployment) =>
  (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";

function fenceposts(d: Deployment) {
  const ru = d.spec?.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge ?? "25%", ru?.maxUnavailable ?? "25%", replicasOf(d));
}

export function maxSurge(d: Deployment): number {
  return isRolling(d) ? fenceposts(d).surge : 0;
}

export function maxUnavailable(d: Deployment): number {
  if (!isRolling(d) || replicasOf(d) === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicasOf(d));
}

export const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec?.replicas ?? 0;
export const sumSpec = (sets: readonly (ReplicaSet | undefined)[]) =>
  sets.reduce((n, rs) => n + specReplicas(rs), 0);
export const sumStatus = (
  sets: readonly (ReplicaSet | undefined)[],
  field: "replicas" | "readyReplicas" | "availableReplicas",
) => sets.reduce((n, rs) => n + (rs?.status?.[field] ?? 0), 0);

/** kube's NewRSNewReplicas: the size the new set may grow to now. */
export function newReplicaSetReplicas(
  d: Deployment,
  allSets: readonly ReplicaSet[],
  newSet: ReplicaSet,
): number {
  if (!isRolling(d)) return replicasOf(d);
  const current = sumSpec(allSets);
  const maxTotal = replicasOf(d) + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newSet);
  const up = Math.min(maxTotal - current, Math.max(0, replicasOf(d) - specReplicas(newSet)));
  return specReplicas(newSet) + up;
}

/**
 * How many old pods may go now (kube's reconcileOldReplicaSets, before the cleanup of unhealthy
 * ones): everything above `replicas - maxUnavailable`, less the new set's not-yet-available pods.
 */
export function maxScaledDown(
  d: Deployment,
  allSets: readonly ReplicaSet[],
  newSet: ReplicaSet | undefined,
): number {
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newSet) - (newSet?.status?.availableReplicas ?? 0);
  return sumSpec(allSets) - minAvailable - newUnavailable;
}

/** Oldest first, then by name: kube's ReplicaSetsByCreationTimestamp. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const ta = a.metadata?.creationTimestamp ?? "";
  const tb = b.metadata?.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? "";
  const nb = b.metadata?.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * Scale-downs of unhealthy old pods first (kube's cleanupUnhealthyReplicas): each old set, oldest
 * first, loses its not-available pods, within `budget`. Returns the new sizes by set name.
 */
export function cleanupUnhealthy(
  oldSets: readonly ReplicaSet[],
  budget: number,
): Map<string, number> {
  const out = new Map<string, number>();
  let done = 0;
  for (const rs of [...oldSets].sort(byCreation)) {
    if (done >= budget) break;
    const spec = specReplicas(rs);
    const available = rs.status?.availableReplicas ?? 0;
    // A status still counting pods the spec has already shed (available > spec) is stale: kube
    // refuses to scale such a set up here, and so do we.
    if (spec === 0 || available >= spec) continue;
    const n = Math.min(budget - done, spec - available);
    out.set(rs.metadata?.name ?? "", spec - n);
    done += n;
  }
  return out;
}

/**
 * Scale-downs of available old pods (kube's scaleDownOldReplicaSetsForRollingUpdate): as many as
 * keep at least `replicas - maxUnavailable` available overall, oldest sets first.
 */
export function scaleDownOldForRolling(
  d: Deployment,
  allSets: readonly ReplicaSet[],
  oldSets: readonly ReplicaSet[],
): Map<string, number> {
  const out = new Map<string, number>();
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const available = sumStatus(allSets, "availableReplicas");
  if (available <= minAvailable) return out;
  const total = available - minAvailable;
  let done = 0;
  for (const rs of [...oldSets].sort(byCreation)) {
    if (done >= total) break;
    const spec = specReplicas(rs);
    if (spec === 0) continue;
    const n = Math.min(spec, total - done);
    out.set(rs.metadata?.name ?? "", spec - n);
    done += n;
  }
  return out;
}

/** Go's math.Round: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function annotatedInt(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key];
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number.parseInt(v, 10);
}

export function desiredReplicasAnnotation(rs: ReplicaSet): number | undefined {
  return annotatedInt(rs, DESIRED_REPLICAS);
}

/** kube's getReplicaSetFraction: this set's share of a resize, by its max-replicas annotation. */
function fraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = annotatedInt(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return roundHalfAway((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs);
}

/**
 * Proportional scaling (kube's `scale` with several active sets): spreads the difference between
 * `replicas + maxSurge` and the active sets' total across them by their share; the rounding
 * leftover goes to the largest (newest on ties when growing, oldest when shrinking). Returns the
 * new size of every active set by name.
 */
export function proportionalSizes(
  d: Deployment,
  activeSets: readonly ReplicaSet[],
): Map<string, number> {
  const sizes = new Map<string, number>();
  const total = sumSpec(activeSets);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - total;
  const sorted = [...activeSets].sort((a, b) => {
    if (specReplicas(a) !== specReplicas(b)) return specReplicas(b) - specReplicas(a);
    const c = byCreation(a, b);
    return toAdd > 0 ? -c : c;
  });
  let added = 0;
  for (const rs of sorted) {
    let p = 0;
    if (toAdd !== 0 && specReplicas(rs) !== 0 && toAdd !== added) {
      const f = fraction(rs, d);
      const left = toAdd - added;
      p = toAdd > 0 ? Math.min(f, left) : Math.max(f, left);
    }
    sizes.set(rs.metadata?.name ?? "", specReplicas(rs) + p);
    added += p;
  }
  const first = sorted[0];
  if (first && toAdd !== added) {
    const name = first.metadata?.name ?? "";
    sizes.set(name, Math.max(0, (sizes.get(name) ?? 0) + toAdd - added));
  }
  return sizes;
}
