/**
 * One step of a DaemonSet's RollingUpdate (kube's rollingUpdate), as a pure plan over the nodes
 * that should run the daemon and the nodes that have its pods. The budgets are maxUnavailable and
 * maxSurge of the desired node count, rounded up; both 0 counts as maxUnavailable 1.
 *
 * Without surge (delete, then the manage step creates): a node with an old pod that is not
 * available has it replaced at once; a node with an available old pod is a candidate, and as many
 * candidates are replaced as the unavailability budget leaves, counting as unavailable every
 * updated pod not yet available and every node without exactly one pod (deleted pods do not
 * count, so that an update makes progress while nodes are down).
 *
 * With surge (create, then delete): a node whose old pod is not available gets its new pod at
 * once (or loses the old pod when the node no longer fits); an available old pod is a candidate
 * for a new pod beside it, within the surge budget less the nodes still waiting for their new
 * pod; once the new pod is available the old one is deleted. Old pods on nodes the DaemonSet no
 * longer fits are deleted only as far as the available pods exceed the desired count.
 *
 * Nodes are visited in name order (kube's are in map order), so a rollout goes node by node
 * predictably.
 *
 * @module
 */
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { isAvailable } from "../_podutil.ts";
import { shouldRunOnNode } from "./_nodes.ts";
import { rollingBudget } from "./_pods.ts";
import { isPodUpdated } from "./_revision.ts";

export interface RollingInput {
  ds: DaemonSet;
  nodes: readonly Node[];
  byNode: ReadonlyMap<string, readonly Pod[]>;
  hash: string;
  now: number;
}

export interface RollingPlan {
  delete: Pod[];
  /** Nodes to create a new pod on. */
  create: string[];
}

/** kube's findUpdatedPodsOnNode: at most one updated and one old live pod, else undefined. */
function updatedAndOld(
  ds: DaemonSet,
  pods: readonly Pod[],
  hash: string,
): { updated?: Pod; old?: Pod } | undefined {
  let updated: Pod | undefined;
  let old: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, ds)) {
      if (updated) return undefined;
      updated = pod;
    } else {
      if (old) return undefined;
      old = pod;
    }
  }
  return { ...(updated ? { updated } : {}), ...(old ? { old } : {}) };
}

export function planRollingUpdate(input: RollingInput): RollingPlan {
  const { ds, nodes, hash, now } = input;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: Pod) => isAvailable(p, minReady, now);
  const nodeByName = new Map(nodes.map((n) => [n.metadata?.name ?? "", n]));
  const runs = (name: string) => {
    const node = nodeByName.get(name);
    return node !== undefined && shouldRunOnNode(ds, node).shouldRun;
  };

  // Every node that should run the daemon, with or without pods, and every node with pods.
  const byNode = new Map(input.byNode);
  let desired = 0;
  for (const [name] of nodeByName) {
    if (!runs(name)) continue;
    desired++;
    if (!byNode.has(name)) byNode.set(name, []);
  }
  let { surge: maxSurge, unavailable: maxUnavailable } = rollingBudget(ds, desired);
  if (desired > 0 && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const names = [...byNode.keys()].sort();

  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: Pod[] = [];
    const candidates: Pod[] = [];
    for (const name of names) {
      const found = updatedAndOld(ds, byNode.get(name) ?? [], hash);
      if (!found) {
        unavailable++;
        continue;
      }
      const { updated, old } = found;
      if ((!old && !updated) || (old && updated)) unavailable++;
      else if (updated) {
        if (!available(updated)) unavailable++;
      } else if (old) {
        if (!available(old)) {
          replace.push(old);
          unavailable++;
        } else if (unavailable < maxUnavailable) candidates.push(old);
      }
    }
    const room = Math.min(Math.max(maxUnavailable - unavailable, 0), candidates.length);
    return { delete: [...replace, ...candidates.slice(0, room)], create: [] };
  }

  const remove: Pod[] = [];
  const sunset: Pod[] = [];
  const allowed: string[] = [];
  const candidates: string[] = [];
  let surging = 0;
  let availableCount = 0;
  for (const name of names) {
    const found = updatedAndOld(ds, byNode.get(name) ?? [], hash);
    if (!found) {
      surging++;
      continue;
    }
    const { updated, old } = found;
    if (old ? available(old) : updated ? available(updated) : false) availableCount++;
    if (!old) continue;
    if (!updated) {
      if (!available(old)) {
        if (!runs(name)) remove.push(old);
        else allowed.push(name);
      } else if (!runs(name)) sunset.push(old);
      else if (surging < maxSurge) candidates.push(name);
      continue;
    }
    if (!available(updated)) surging++;
    else remove.push(old);
  }
  const deletable = Math.min(Math.max(availableCount - desired, 0), sunset.length);
  remove.push(...sunset.slice(0, deletable));
  const room = Math.min(Math.max(maxSurge - surging, 0), candidates.length);
  return { delete: remove, create: [...allowed, ...candidates.slice(0, room)] };
}
