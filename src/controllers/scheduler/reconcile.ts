/**
 * One scheduling attempt for one pod (key `namespace/name`): a pending pod of the default
 * scheduler without a node is bound to the best fitting node (see _fit.ts), with a `Scheduled`
 * event; a pod that fits nowhere gets `PodScheduled=False` reason `Unschedulable` and a
 * `FailedScheduling` event, and is tried again when nodes change (the wiring enqueues it); when
 * evicting lower-priority pods would make room, they are preempted first (see _preempt.ts) and
 * the pod is nominated to their node.
 *
 * @module
 */
import type { Pod, PodCondition } from "kubernetes-types/core/v1.js";
import { splitKey } from "../../api/types.ts";
import { type Candidate, place } from "./_fit.ts";
import type { PodsView } from "./_pods.ts";

export const SCHEDULER_NAME = "default-scheduler";

export interface SchedulerDeps {
  getPod(namespace: string, name: string): Pod | undefined;
  /** Every node with its load (non-terminal pods, including those this scheduler just bound). */
  nodes(): readonly Candidate[];
  /** The pods on nodes, for inter-pod affinity and topology spread (none when left out). */
  pods?(): PodsView;
  /** Where the search for a node starts, and how far the last one went (kube's nextStartNodeIndex). */
  searchFrom(): number;
  searched(examined: number): void;
  bind(pod: Pod, node: string): Promise<void>;
  /**
   * Preempts for the pod on `node`: marks each victim (DisruptionTarget condition, `Preempted`
   * event) and deletes it.
   */
  preempt?(pod: Pod, node: string, victims: readonly Pod[]): Promise<void>;
  /**
   * Writes the pod's status conditions (optimistic on the pod's resourceVersion), and the node
   * it was nominated to by preemption when given.
   */
  setConditions(pod: Pod, conditions: PodCondition[], nominatedNodeName?: string): Promise<void>;
  event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void;
  now(): Date;
}

/** Whether this scheduler should try to place the pod at all. */
export function wantsScheduling(pod: Pod | undefined): pod is Pod {
  if (!pod || pod.metadata?.deletionTimestamp) return false;
  if (pod.spec?.nodeName) return false;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  return (pod.spec?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME;
}

function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export async function reconcilePod(key: string, deps: SchedulerDeps): Promise<void> {
  const { namespace, name } = splitKey(key);
  const pod = deps.getPod(namespace, name);
  if (!wantsScheduling(pod)) return;
  const placement = place(pod, deps.nodes(), {
    start: deps.searchFrom(),
    ...(deps.pods ? { pods: deps.pods() } : {}),
  });
  deps.searched(placement.examined);
  if ("node" in placement) {
    await deps.bind(pod, placement.node);
    deps.event(
      pod,
      "Normal",
      "Scheduled",
      `Successfully assigned ${namespace}/${name} to ${placement.node}`,
    );
    return;
  }
  const preempt = deps.preempt ? placement.preempt : undefined;
  if (preempt && deps.preempt)
    await deps.preempt(
      pod,
      preempt.node,
      preempt.victims.map((v) => v.pod),
    );
  const conditions = pod.status?.conditions ?? [];
  const current = conditions.find((c) => c.type === "PodScheduled");
  if (
    preempt ||
    current?.status !== "False" ||
    current.reason !== "Unschedulable" ||
    current.message !== placement.message
  ) {
    const next: PodCondition = {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: placement.message,
      lastTransitionTime:
        current?.status === "False" && current.lastTransitionTime
          ? current.lastTransitionTime
          : rfc3339(deps.now()),
    };
    const rest = conditions.filter((c) => c.type !== "PodScheduled");
    if (preempt) await deps.setConditions(pod, [...rest, next], preempt.node);
    else await deps.setConditions(pod, [...rest, next]);
    deps.event(pod, "Warning", "FailedScheduling", placement.message);
  }
}
