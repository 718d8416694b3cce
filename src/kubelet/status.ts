/**
 * Pod status from container states, as the kubelet computes it (getPhase and the condition
 * generators in pkg/kubelet/status): pure functions, the clock passed in. `podStatus` builds
 * the whole status the pod worker writes from the worker's state (its containers, init
 * progress, sandbox) and nothing else.
 *
 * @module
 */
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
} from "kubernetes-types/core/v1.js";

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

/**
 * The waiting state of a container that does not exist yet: `PodInitializing` in a pod with init
 * containers (kubectl then shows `Init:0/N`, later `PodInitializing`), else `ContainerCreating`,
 * as the kubelet's default container status.
 */
export function notCreatedYet(pod: Pod): ContainerState {
  const reason = pod.spec?.initContainers?.length ? "PodInitializing" : "ContainerCreating";
  return { waiting: { reason } };
}

/** What the worker knows of one container, for its status. */
export interface ContainerView {
  spec: Container;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID?: string | undefined;
  imageID?: string | undefined;
  /** A restartable init container (`restartPolicy: Always`). */
  sidecar?: boolean;
  ephemeral?: boolean | undefined;
}

/** A container's status as the kubelet reports it. */
export function containerStatus(c: ContainerView): ContainerStatus {
  const s: ContainerStatus = {
    name: c.spec.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.spec.image ?? "",
    imageID: c.imageID ?? "",
    // The kubelet's prober reports `started` for regular and init containers only.
    ...(c.ephemeral ? {} : { started: c.started }),
  };
  if (c.containerID) s.containerID = c.containerID;
  return s;
}

/** The pod worker's state that its status is made of. */
export interface PodView {
  /** The pod as last seen (its conditions' transition times, its qosClass). */
  pod: Pod;
  init: ContainerView[];
  app: ContainerView[];
  ephemeral: ContainerView[];
  sandboxReady: boolean;
  /** The regular init containers have all completed. */
  initDone: boolean;
  /** Deleted and every container stopped: nothing runs again, the phase is final. */
  terminal: boolean;
  hostIP: string;
  podIP: string;
  startTime: string | undefined;
  /** The pod was stopped for good (its active deadline): Failed with this reason and message. */
  failed?: { reason: string; message: string } | undefined;
}

/**
 * The status the kubelet writes for the pod: phase (Failed at once when a regular init container
 * failed under `restartPolicy: Never`), conditions, container statuses. `now` is the time
 * stamped on a condition that changed.
 */
export function podStatus(view: PodView, now: string): Record<string, unknown> {
  const restartPolicy = view.pod.spec?.restartPolicy ?? "Always";
  const sidecars = view.init.filter((c) => c.sidecar);
  const app = view.app.map(containerStatus);
  const init = view.init.map(containerStatus);
  let phase = podPhase(app, {
    restartPolicy,
    initDone: view.initDone,
    sidecars: sidecars.map(containerStatus),
    terminal: view.terminal,
  });
  const initFailed = view.init.some(
    (c) => !c.sidecar && c.state.terminated && c.state.terminated.exitCode !== 0,
  );
  if (!view.initDone && initFailed && restartPolicy === "Never") phase = "Failed";
  if (view.failed) phase = "Failed";
  // Sidecars count for readiness, as app containers do.
  const notReady = [...sidecars, ...view.app].filter((c) => !c.ready).map((c) => c.spec.name);
  const pendingInit = view.init
    .filter((c) =>
      c.sidecar
        ? !(c.state.running && c.started)
        : !(c.state.terminated && c.state.terminated.exitCode === 0),
    )
    .map((c) => c.spec.name);
  const conditions = podConditions(
    view.pod,
    {
      sandboxReady: view.sandboxReady,
      initialized: view.initDone,
      pendingInit,
      notReady,
      phase,
    },
    now,
  );
  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    startTime: view.startTime,
    containerStatuses: app,
  };
  if (view.failed) Object.assign(status, view.failed);
  if (init.length) status.initContainerStatuses = init;
  if (view.ephemeral.length)
    status.ephemeralContainerStatuses = view.ephemeral.map(containerStatus);
  if (view.pod.status?.qosClass) status.qosClass = view.pod.status.qosClass;
  return status;
}
