/**
 * A pod's graceful termination as pure decisions, which the pod worker (worker.ts) carries out
 * with its injected clock: how long the pod's containers have, in which order they get SIGTERM,
 * and when SIGKILL follows.
 *
 * Kube's behaviour (the kubelet's killContainer and its termination ordering, 1.29+): every
 * container's preStop hook runs at once and counts against the grace period; an app container
 * then gets SIGTERM; a sidecar (restartable init container) waits for its turn first, until
 * every app container and every sidecar declared after it has exited (sidecars stop in reverse
 * order), or the grace period ends; SIGKILL at the deadline. When the preStop hook or the wait
 * for its turn used the grace period up, SIGTERM still gets 2 s before SIGKILL (the kubelet's
 * minimum shutdown window); a grace period cut short meanwhile is not extended.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { ContainerRole } from "./lifecycle.ts";

/** The kubelet's minimum SIGTERM-to-SIGKILL window after a wait used the grace period up. */
export const MIN_SHUTDOWN_MS = 2000;

/** The grace period of a pod being stopped (ms): its deletion's, else its spec's, else 30 s. */
export function podGraceMs(pod: Pod, capMs = Number.POSITIVE_INFINITY): number {
  const seconds =
    pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.min(seconds * 1000, capMs);
}

export interface StoppingContainer {
  name: string;
  role: ContainerRole;
  /** A run of it is live (one that is not needs no turn and holds up no other). */
  running: boolean;
}

/**
 * Which containers each container waits to see exited before its SIGTERM, by name: nothing for
 * app, init and ephemeral containers; for a sidecar, the running app containers and the running
 * sidecars declared after it. `containers` are in the pod's order, init containers first.
 */
export function terminationTurns(containers: readonly StoppingContainer[]): Map<string, string[]> {
  const apps = containers.filter((c) => c.role === "app" && c.running).map((c) => c.name);
  const turns = new Map<string, string[]>();
  const later: string[] = [];
  for (const c of [...containers].reverse()) {
    if (c.role !== "sidecar") {
      turns.set(c.name, []);
      continue;
    }
    turns.set(c.name, [...apps, ...later]);
    if (c.running) later.push(c.name);
  }
  return turns;
}

/**
 * When SIGKILL follows a SIGTERM sent at `now`, after the container waited (its preStop hook or
 * its turn) for `waited`: the deadline, or `now` + 2 s when the waits used it up. `killBy` is the
 * pod's own latest moment; it moves with the extension unless the grace period was cut short
 * (`killBy` earlier than `deadline`).
 */
export function sigkillAt(
  times: { deadline: number; killBy: number; now: number },
  waited: boolean,
): { deadline: number; killBy: number } {
  const { deadline, killBy, now } = times;
  if (!waited || deadline > now) return { deadline, killBy };
  const extended = now + MIN_SHUTDOWN_MS;
  return { deadline: extended, killBy: killBy >= deadline ? Math.max(killBy, extended) : killBy };
}

/** The kubelet's words for a pod stopped at its `activeDeadlineSeconds`. */
export const DEADLINE_EXCEEDED = {
  reason: "DeadlineExceeded",
  message: "Pod was active on the node longer than the specified deadline",
} as const;

/**
 * When a pod's `activeDeadlineSeconds` ends (ms), counted from its `startTime` as the kubelet's
 * active deadline handler does; undefined without one. At that moment the pod is Failed with
 * reason DeadlineExceeded and its containers are stopped, whatever its restart policy.
 */
export function activeDeadlineAt(pod: Pod, startTime: string | undefined): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds;
  const start = startTime ? Date.parse(startTime) : Number.NaN;
  if (seconds === undefined || Number.isNaN(start)) return undefined;
  return start + seconds * 1000;
}
