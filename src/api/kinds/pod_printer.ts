/**
 * The pod row of `kubectl get pods`, as kube-apiserver's `printPod`: READY counts ready regular
 * containers plus started-and-ready sidecars; STATUS is the phase refined by init progress
 * (`Init:1/2`, `Init:CrashLoopBackOff`), container waiting/terminated reasons
 * (`ContainerCreating`, `CrashLoopBackOff`, `Completed`, `ExitCode:1`), `SchedulingGated`,
 * `NotReady`, `Terminating` and `Unknown` (NodeLost); RESTARTS shows `3 (5m ago)` after a restart.
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { at, isObj, num, type Obj, objs, str } from "./_util.ts";
import type { TableColumn, TableRowCondition } from "./types.ts";

export const podColumns: TableColumn[] = [
  NAME,
  column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
  column("Status", "string", "The aggregate status of the containers in this pod."),
  column(
    "Restarts",
    "string",
    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
  ),
  AGE,
  column(
    "IP",
    "string",
    "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    1,
  ),
  column("Node", "string", "NodeName indicates in which node this pod is scheduled.", 1),
  column(
    "Nominated Node",
    "string",
    "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    1,
  ),
  column(
    "Readiness Gates",
    "string",
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    1,
  ),
];

function finishedAt(cs: Obj): number {
  const t = at(cs, "lastState", "terminated", "finishedAt");
  if (typeof t !== "string") return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
}

function hasCondition(pod: KubeObject, type: string): boolean {
  return objs(at(pod, "status", "conditions")).some((c) => c.type === type && c.status === "True");
}

function terminatedReason(t: Obj, prefix: string): string {
  const reason = str(t.reason);
  if (reason !== "") return prefix + reason;
  if (num(t.signal) !== 0) return `${prefix}Signal:${num(t.signal)}`;
  return `${prefix}ExitCode:${num(t.exitCode)}`;
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

/** READY, STATUS and RESTARTS cells of one pod. */
export function podSummary(pod: KubeObject, now: number): PodSummary {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const status = isObj(pod.status) ? pod.status : {};
  const initSpecs = objs(spec.initContainers);
  const isSidecar = (name: string) =>
    initSpecs.some((c) => c.name === name && c.restartPolicy === "Always");
  let total =
    objs(spec.containers).length + initSpecs.filter((c) => c.restartPolicy === "Always").length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;

  const phase = str(status.phase);
  let reason = str(status.reason) !== "" ? str(status.reason) : phase;
  if (
    objs(status.conditions).some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")
  ) {
    reason = "SchedulingGated";
  }

  let initializing = false;
  const initStatuses = objs(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] as Obj;
    restarts += num(cs.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const sidecar = isSidecar(str(cs.name));
    if (sidecar) {
      sidecarRestarts += num(cs.restartCount);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(cs));
    }
    const terminated = at(cs, "state", "terminated");
    const waiting = at(cs, "state", "waiting");
    if (isObj(terminated) && num(terminated.exitCode) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (isObj(terminated)) reason = terminatedReason(terminated, "Init:");
    else if (isObj(waiting) && str(waiting.reason) !== "" && waiting.reason !== "PodInitializing") {
      reason = `Init:${str(waiting.reason)}`;
    } else reason = `Init:${i}/${initSpecs.length}`;
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(pod, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = objs(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as Obj;
      restarts += num(cs.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const waiting = at(cs, "state", "waiting");
      const terminated = at(cs, "state", "terminated");
      if (isObj(waiting) && str(waiting.reason) !== "") reason = str(waiting.reason);
      else if (isObj(terminated)) reason = terminatedReason(terminated, "");
      else if (cs.ready === true && isObj(at(cs, "state", "running"))) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning)
      reason = hasCondition(pod, "Ready") ? "Running" : "NotReady";
  }

  const deleting =
    typeof pod.metadata.deletionTimestamp === "string" && pod.metadata.deletionTimestamp !== "";
  if (deleting && status.reason === "NodeLost") reason = "Unknown";
  else if (deleting && phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestart !== 0) {
    restartsText = `${restarts} (${sinceTimestamp(new Date(lastRestart).toISOString(), now)} ago)`;
  }
  total = Math.max(total, 0);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

export function podRow(pod: KubeObject, now: number): unknown[] {
  const s = podSummary(pod, now);
  const spec = isObj(pod.spec) ? pod.spec : {};
  const status = isObj(pod.status) ? pod.status : {};
  const ip = str(at(status, "podIPs", 0, "ip")) || "<none>";
  const node = str(spec.nodeName) || "<none>";
  const nominated = str(status.nominatedNodeName) || "<none>";
  let gates = "<none>";
  const readinessGates = objs(spec.readinessGates);
  if (readinessGates.length > 0) {
    const conditions = objs(status.conditions);
    let trueCount = 0;
    for (const g of readinessGates) {
      const c = conditions.find((x) => x.type === g.conditionType);
      if (c?.status === "True") trueCount++;
    }
    gates = `${trueCount}/${readinessGates.length}`;
  }
  return [
    pod.metadata.name ?? "",
    s.ready,
    s.status,
    s.restarts,
    sinceTimestamp(pod.metadata.creationTimestamp, now),
    ip,
    node,
    nominated,
    gates,
  ];
}

export function podRowConditions(pod: KubeObject): TableRowCondition[] | undefined {
  const phase = at(pod, "status", "phase");
  if (phase === "Succeeded") {
    return [
      {
        type: "Completed",
        status: "True",
        reason: "Succeeded",
        message: "The pod has completed successfully.",
      },
    ];
  }
  if (phase === "Failed") {
    return [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];
  }
  return undefined;
}
