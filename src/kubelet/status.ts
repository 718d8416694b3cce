/**
 * Pod status from container states, as the kubelet computes it (getPhase and the condition
 * generators in pkg/kubelet/status): pure functions, the clock passed in.
 *
 * @module
 */
import type { ContainerStatus, Pod, PodCondition } from "kubernetes-types/core/v1.js";

export type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

export interface PhaseInputs {
  restartPolicy: string;
  /** The regular init containers have all completed. */
  initDone: boolean;
  /** Statuses of the restartable init containers (sidecars). */
  sidecars?: ContainerStatus[];
  /** The pod is being deleted and none of its containers will run again. */
  terminal?: boolean;
}

/**
 * The kubelet's getPhase, once the regular init containers are done. A running sidecar counts
 * as a running container (so a pod never reports Succeeded while a sidecar still runs: the
 * phase and the sidecar's terminated state are written together); a stopped sidecar is ignored;
 * a sidecar that never ran yet keeps the pod Pending. A terminal pod (deleted, every container
 * stopped) is Succeeded or Failed whatever its restart policy; Failed when a container never ran.
 */
export function podPhase(statuses: ContainerStatus[], inputs: PhaseInputs): Phase {
  if (!inputs.initDone) return inputs.terminal ? "Failed" : "Pending";
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of inputs.sidecars ?? []) {
    if (s.state?.running) running++;
    else if (!s.state?.terminated && !s.lastState?.terminated) waiting++;
  }
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  // Deleted before a container ever ran (a pull that failed, say): it never will, and kube's
  // kubelet ends such a pod Failed, so that the pod can go.
  if (waiting > 0) return inputs.terminal && running === 0 ? "Failed" : "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (inputs.terminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (inputs.restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (inputs.restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

export interface ConditionInputs {
  sandboxReady: boolean;
  initialized: boolean;
  /** Names of pending init containers, for the Initialized message. */
  pendingInit: string[];
  notReady: string[];
  phase: Phase;
}

/**
 * The kubelet's conditions, keeping `lastTransitionTime` of a condition whose status did not
 * change. PodScheduled is the scheduler's: kept as it is, or set True if absent.
 */
export function podConditions(pod: Pod, inputs: ConditionInputs, now: string): PodCondition[] {
  const prior = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const make = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
    const status = ok ? "True" : "False";
    const old = prior.get(type);
    const c: PodCondition = {
      type,
      status,
      lastTransitionTime:
        old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    };
    if (reason) c.reason = reason;
    if (message) c.message = message;
    return c;
  };
  const terminal = inputs.phase === "Succeeded" || inputs.phase === "Failed";
  const list = inputs.notReady.join(" ");
  const ready = inputs.notReady.length === 0 && !terminal;
  const notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady";
  const notReadyMessage = terminal ? undefined : `containers with unready status: [${list}]`;
  return [
    make("PodReadyToStartContainers", inputs.sandboxReady && !terminal),
    inputs.initialized
      ? make(
          "Initialized",
          true,
          terminal && inputs.phase === "Succeeded" ? "PodCompleted" : undefined,
        )
      : make(
          "Initialized",
          false,
          "ContainersNotInitialized",
          `containers with incomplete status: [${inputs.pendingInit.join(" ")}]`,
        ),
    ready ? make("Ready", true) : make("Ready", false, notReadyReason, notReadyMessage),
    ready
      ? make("ContainersReady", true)
      : make("ContainersReady", false, notReadyReason, notReadyMessage),
    prior.get("PodScheduled") ?? make("PodScheduled", true),
  ];
}
