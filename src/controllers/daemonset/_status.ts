/**
 * A DaemonSet's status counts (kube's updateDaemonSetStatus): over the nodes that should run the
 * daemon, `desiredNumberScheduled`; of those with a pod of it, `currentNumberScheduled`, and —
 * judging each node by its first pod (scheduled, then oldest) — `numberReady`, `numberAvailable`
 * (ready for minReadySeconds) and `updatedNumberScheduled`; `numberUnavailable` is desired less
 * available; `numberMisscheduled` counts the nodes with a pod that should not run it.
 *
 * @module
 */
import type { DaemonSet, DaemonSetStatus } from "kubernetes-types/apps/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { isAvailable, isReady } from "../_podutil.ts";
import { shouldRunOnNode } from "./_nodes.ts";
import { byCreationAndPhase } from "./_pods.ts";
import { isPodUpdated } from "./_revision.ts";

export type Counts = Required<
  Pick<
    DaemonSetStatus,
    | "desiredNumberScheduled"
    | "currentNumberScheduled"
    | "numberMisscheduled"
    | "numberReady"
    | "updatedNumberScheduled"
    | "numberAvailable"
    | "numberUnavailable"
  >
>;

export function statusCounts(input: {
  ds: DaemonSet;
  nodes: readonly Node[];
  byNode: ReadonlyMap<string, readonly Pod[]>;
  hash: string;
  now: number;
}): Counts {
  const { ds, byNode, hash, now } = input;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const c: Counts = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
  };
  for (const node of input.nodes) {
    const pods = byNode.get(node.metadata?.name ?? "") ?? [];
    if (!shouldRunOnNode(ds, node).shouldRun) {
      if (pods.length > 0) c.numberMisscheduled++;
      continue;
    }
    c.desiredNumberScheduled++;
    const first = [...pods].sort(byCreationAndPhase)[0];
    if (!first) continue;
    c.currentNumberScheduled++;
    if (isReady(first)) {
      c.numberReady++;
      if (isAvailable(first, minReady, now)) c.numberAvailable++;
    }
    if (isPodUpdated(first, hash, ds)) c.updatedNumberScheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}

/** Whether the stored status already says this (kube's storeDaemonSetStatus short cut). */
export function statusCurrent(ds: DaemonSet, counts: Counts, collisionCount?: number): boolean {
  const s = ds.status ?? ({} as Partial<DaemonSetStatus>);
  return (
    (Object.keys(counts) as Array<keyof Counts>).every((k) => (s[k] ?? 0) === counts[k]) &&
    (s.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0) &&
    (collisionCount === undefined || (s.collisionCount ?? 0) === collisionCount)
  );
}
