/**
 * What the DaemonSet controller's `manage` step does on each node (kube's podsShouldBeOnNode),
 * as a pure plan:
 *
 * - a node that should run the daemon and has no pod of it gets one;
 * - on a node where the daemon may stay: failed pods are deleted (unless the node's failure
 *   back-off holds them, to avoid fighting a kubelet that rejects them), succeeded pods too; of
 *   the running ones, without surge only the first (scheduled, then oldest) is kept; with surge
 *   the oldest updated and the oldest old pod are kept, the old one until it is unready or the
 *   updated one is available; a node with no running pod left gets a new one when it should run
 *   the daemon;
 * - a node where the daemon may not stay loses every pod of it;
 * - pods for nodes that no longer exist and never were scheduled are deleted (nothing else
 *   would: kube's pod garbage collector only looks at bound pods).
 *
 * @module
 */
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { isAvailable, isReady } from "../_podutil.ts";
import { shouldRunOnNode } from "./_nodes.ts";
import { allowsSurge, byCreationAndPhase } from "./_pods.ts";
import { HASH_LABEL } from "./_revision.ts";

export interface ManagePlan {
  /** Nodes to create a daemon pod on, in node order. */
  create: string[];
  delete: Pod[];
  /** Failed pods among `delete`, with their node: each is an event and a back-off step. */
  failed: Array<{ pod: Pod; node: string }>;
  /** Succeeded pods among `delete`, with their node: each is an event. */
  succeeded: Array<{ pod: Pod; node: string }>;
  /** The shortest wait of a failure back-off that held failed pods back. */
  backoffWait?: number;
}

export interface ManageInput {
  ds: DaemonSet;
  nodes: readonly Node[];
  byNode: ReadonlyMap<string, readonly Pod[]>;
  hash: string;
  now: number;
  /** The time left on a node's failed-pod back-off, or undefined when it is not backing off. */
  backoff(node: string): number | undefined;
}

function keepWhileSurging(ds: DaemonSet, running: Pod[], hash: string, now: number): Pod[] {
  const remove: Pod[] = [];
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  for (const pod of [...running].sort(byCreationAndPhase)) {
    const updated = pod.metadata?.labels?.[HASH_LABEL] === hash;
    if (updated && !oldestNew) oldestNew = pod;
    else if (!updated && !oldestOld) oldestOld = pod;
    else remove.push(pod);
  }
  if (oldestNew && oldestOld) {
    if (!isReady(oldestOld) || isAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))
      remove.push(oldestOld);
  }
  return remove;
}

export function planManage(input: ManageInput): ManagePlan {
  const { ds, nodes, byNode, hash, now } = input;
  const plan: ManagePlan = { create: [], delete: [], failed: [], succeeded: [] };
  const surge = allowsSurge(ds);
  for (const node of nodes) {
    const name = node.metadata?.name ?? "";
    const { shouldRun, shouldContinueRunning } = shouldRunOnNode(ds, node);
    const pods = byNode.get(name);
    if (shouldRun && !pods) {
      plan.create.push(name);
      continue;
    }
    if (!pods) continue;
    if (!shouldContinueRunning) {
      plan.delete.push(...pods.filter((p) => !p.metadata?.deletionTimestamp));
      continue;
    }
    const running: Pod[] = [];
    const wait = input.backoff(name);
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      if (pod.status?.phase === "Failed") {
        if (wait !== undefined) {
          plan.backoffWait = Math.min(plan.backoffWait ?? wait, wait);
          continue;
        }
        plan.failed.push({ pod, node: name });
        plan.delete.push(pod);
      } else if (pod.status?.phase === "Succeeded") {
        plan.succeeded.push({ pod, node: name });
        plan.delete.push(pod);
      } else running.push(pod);
    }
    if (!surge) {
      if (running.length > 1) plan.delete.push(...[...running].sort(byCreationAndPhase).slice(1));
      continue;
    }
    if (running.length === 0) {
      if (shouldRun) plan.create.push(name);
      continue;
    }
    if (running.length > 1) plan.delete.push(...keepWhileSurging(ds, running, hash, now));
  }
  const known = new Set(nodes.map((n) => n.metadata?.name ?? ""));
  for (const [node, pods] of byNode) {
    if (known.has(node)) continue;
    plan.delete.push(...pods.filter((p) => !p.spec?.nodeName));
  }
  return plan;
}
