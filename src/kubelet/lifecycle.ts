/**
 * A container's life decisions as a pure state machine: an event in (its run ended, its start
 * was refused, a probe gave a result), the container's and the pod's facts, and the time read
 * from the worker's injected clock; actions out (restart at a time, finish, show a waiting
 * state, emit an event, kill by a deadline, set ready or started, start or stop probes, write
 * the status). Nothing here reads a clock, sleeps or touches a process: the pod worker
 * (worker.ts) carries the actions out, so restart policies, CrashLoopBackOff and the probes'
 * consequences are tested as tables (lifecycle.test.ts).
 *
 * Kube's behaviour, as the kubelet's pod workers and prober show it: a regular init container
 * restarts on failure unless the pod's policy is Never; a sidecar (an init container with
 * `restartPolicy: Always`) always restarts and ends when the app containers are done; an app
 * container follows the pod's policy (Always, OnFailure, Never). The first restart is at once,
 * then back-off (backoff.ts) with the container waiting in `CrashLoopBackOff` and a `BackOff`
 * event. A container killed because its spec changed starts again at once, whatever the policy.
 * A failed liveness or startup probe kills the container with the probe's grace period (or the
 * pod's); a passed startup probe starts the liveness and readiness probes. A failed postStart
 * hook kills the container (a `FailedPostStartHook` event); so does a new image in its spec,
 * unless it is a regular init container (one that finished is not run again).
 *
 * @module
 */
import type { ContainerState } from "kubernetes-types/core/v1.js";
import { type BackoffPolicy, type BackoffState, goDuration, nextBackoff } from "./backoff.ts";
import type { ProbeKind } from "./probe.ts";

export type ContainerRole = "init" | "sidecar" | "app" | "ephemeral";

/** What the machine knows of the pod. */
export interface PodFacts {
  name: string;
  namespace: string;
  uid: string;
  /** The pod's `restartPolicy` (default Always). */
  restartPolicy: string;
  /** `terminationGracePeriodSeconds` in ms (default 30 s). */
  graceMs: number;
  /** The pod is being stopped (deleted, or the agent stops). */
  stopping: boolean;
  /** Its app containers are done (nothing restarts them): sidecars end. */
  appsDone: boolean;
}

/** What the machine knows of one container. */
export interface ContainerFacts {
  name: string;
  role: ContainerRole;
  /** Its last run was killed because its spec changed. */
  changed: boolean;
  backoff: BackoffState;
  /** Its state now (it becomes the last state when it waits in back-off). */
  state: ContainerState;
  /** A run of it is live (probe results of a run that ended are stale). */
  running: boolean;
}

export type LifecycleEvent =
  /** A run ended with this exit code. */
  | { type: "exited"; exitCode: number }
  /**
   * A start was refused before anything ran (a configuration error, an image not there yet); it
   * is tried again after `retryInMs` (the image step's own back-off), by default the initial
   * back-off (at least 1 s).
   */
  | { type: "startRefused"; retryInMs?: number | undefined }
  /** A probe's result changed (readiness) or decided (startup, liveness). */
  | { type: "probe"; kind: ProbeKind; ok: boolean; graceSeconds?: number | undefined }
  /** Its postStart hook failed with `message`. */
  | { type: "postStartFailed"; message: string }
  /** Its spec changed (a new image), which its running process does not have. */
  | { type: "specChanged" };

export type LifecycleAction =
  /** Start the container again at `at` (ms, the injected clock; `at` = now: at once). */
  | { type: "restart"; at: number }
  /** No more runs: the container is done. */
  | { type: "finish"; succeeded: boolean }
  /** Show the container waiting (its state becomes its last state). */
  | { type: "wait"; reason: string; message: string }
  | { type: "event"; eventType: "Normal" | "Warning"; reason: string; message: string }
  /** Stop the run: preStop, SIGTERM, SIGKILL at `deadline` (ms). */
  | { type: "kill"; deadline: number; message: string }
  | { type: "ready"; ready: boolean }
  | { type: "started" }
  | { type: "startProbes"; kinds: ProbeKind[] }
  | { type: "stopProbes"; kinds: ProbeKind[] | "all" }
  | { type: "writeStatus" };

export interface LifecycleStep {
  actions: LifecycleAction[];
  /** The container's next back-off and `changed` (unchanged when absent). */
  backoff?: BackoffState;
  changed?: boolean;
}

/** Whether a run that ended with `exitCode` is followed by another, by role and pod policy. */
export function restarts(role: ContainerRole, policy: string, exitCode: number): boolean {
  const failed = exitCode !== 0;
  switch (role) {
    case "sidecar":
      return true;
    case "init":
      return failed && policy !== "Never";
    case "app":
      return policy === "Always" || (policy === "OnFailure" && failed);
    case "ephemeral":
      return false;
  }
}

/** The next step of a container after `event`, at `now` (ms, the worker's injected clock). */
export function step(
  pod: PodFacts,
  c: ContainerFacts,
  event: LifecycleEvent,
  now: number,
  policy: BackoffPolicy,
): LifecycleStep {
  switch (event.type) {
    case "exited":
    case "startRefused":
      return afterRun(pod, c, event, now, policy);
    case "probe":
      return afterProbe(pod, c, event, now);
    case "postStartFailed":
      return {
        actions: [
          {
            type: "event",
            eventType: "Warning",
            reason: "FailedPostStartHook",
            message: event.message,
          },
          { type: "kill", deadline: now + pod.graceMs, message: "FailedPostStartHook" },
        ],
      };
    case "specChanged": {
      if (pod.stopping || !c.running || c.role === "init") return { actions: [] };
      const message = `Container ${c.name} definition changed, will be restarted`;
      return { actions: [{ type: "kill", deadline: now + pod.graceMs, message }], changed: true };
    }
  }
}

function afterRun(
  pod: PodFacts,
  c: ContainerFacts,
  event:
    | { type: "exited"; exitCode: number }
    | { type: "startRefused"; retryInMs?: number | undefined },
  now: number,
  policy: BackoffPolicy,
): LifecycleStep {
  const exitCode = event.type === "exited" ? event.exitCode : undefined;
  if (pod.stopping) return { actions: [{ type: "finish", succeeded: exitCode === 0 }] };
  if (c.role === "sidecar" && pod.appsDone)
    return { actions: [{ type: "finish", succeeded: true }] };
  // A configuration error: tried again later, as the kubelet's sync loop does.
  if (event.type === "startRefused") {
    const retry = event.retryInMs ?? Math.max(policy.initialMs, 1000);
    return { actions: [{ type: "restart", at: now + retry }] };
  }
  // Killed for a new spec: started again now, no back-off.
  if (c.changed) return { actions: [{ type: "restart", at: now }], changed: false };
  if (!restarts(c.role, pod.restartPolicy, event.exitCode))
    return { actions: [{ type: "finish", succeeded: event.exitCode === 0 }] };
  const { wait, state } = nextBackoff(policy, c.backoff, now);
  if (wait <= 0) return { actions: [{ type: "restart", at: now }], backoff: state };
  const who = `${pod.name}_${pod.namespace}(${pod.uid})`;
  return {
    backoff: state,
    actions: [
      {
        type: "wait",
        reason: "CrashLoopBackOff",
        message: `back-off ${goDuration(wait)} restarting failed container=${c.name} pod=${who}`,
      },
      { type: "writeStatus" },
      {
        type: "event",
        eventType: "Warning",
        reason: "BackOff",
        message: `Back-off restarting failed container ${c.name} in pod ${who}`,
      },
      { type: "restart", at: now + wait },
    ],
  };
}

function afterProbe(
  pod: PodFacts,
  c: ContainerFacts,
  e: { kind: ProbeKind; ok: boolean; graceSeconds?: number | undefined },
  now: number,
): LifecycleStep {
  if (pod.stopping || !c.running) return { actions: [] };
  if (e.kind === "readiness")
    return { actions: [{ type: "ready", ready: e.ok }, { type: "writeStatus" }] };
  if (e.ok) {
    if (e.kind === "liveness") return { actions: [] };
    return {
      actions: [
        { type: "started" },
        { type: "stopProbes", kinds: ["startup"] },
        { type: "writeStatus" },
        { type: "startProbes", kinds: ["liveness", "readiness"] },
      ],
    };
  }
  const grace = e.graceSeconds !== undefined ? e.graceSeconds * 1000 : pod.graceMs;
  return {
    actions: [
      { type: "stopProbes", kinds: "all" },
      {
        type: "kill",
        deadline: now + grace,
        message: `Container ${c.name} failed ${e.kind} probe, will be restarted`,
      },
    ],
  };
}
