/**
 * The value of `endpoints.kubernetes.io/last-change-trigger-time`, computed as kube's
 * TriggerTimeTracker does: the time of the change that made this sync necessary, so that a
 * programmer (proxy, DNS) can measure network programming latency from it (SIG Scalability's
 * SLI). Per Service it remembers the pod trigger times (each pod's Ready condition
 * `lastTransitionTime`) and the Service's own (its creationTimestamp) seen at the last sync:
 * - a Service not seen before yields its creationTimestamp;
 * - otherwise the earliest trigger time that moved forward since the last sync;
 * - undefined when none did (the caller then drops the annotation from the slices it writes).
 * Like kube's, it can be wrong when one object changes twice between two syncs.
 *
 * Not safe for concurrent calls on one key; the work queue never runs one key twice at once.
 *
 * @module
 */
import type { Pod, Service } from "kubernetes-types/core/v1.js";

interface ServiceState {
  service: number;
  pods: Map<string, number>;
}

/** Milliseconds since the epoch of an RFC 3339 time, NaN when absent or unparsable. */
function ms(time: string | undefined): number {
  return time ? Date.parse(time) : Number.NaN;
}

function podTriggerTime(pod: Pod): number {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === "Ready");
  return ms(ready?.lastTransitionTime);
}

/** RFC 3339 in UTC with the fraction trimmed of trailing zeros, as Go's RFC3339Nano prints. */
export function formatTriggerTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.?0+Z$/, "Z");
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time for this sync of `serviceKey` (epoch ms), and remembers what it saw. */
  compute(serviceKey: string, service: Service, pods: readonly Pod[]): number | undefined {
    const known = this.states.get(serviceKey);
    let earliest = Number.NaN;
    const consider = (t: number) => {
      if (Number.isNaN(earliest) || t < earliest) earliest = t;
    };
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (Number.isNaN(t)) continue;
      const name = pod.metadata?.name ?? "";
      podTimes.set(name, t);
      const before = known?.pods.get(name);
      if (before === undefined || t > before) consider(t);
    }
    const serviceTime = ms(service.metadata?.creationTimestamp);
    if (!Number.isNaN(serviceTime) && (known === undefined || serviceTime > known.service))
      consider(serviceTime);
    this.states.set(serviceKey, { service: serviceTime, pods: podTimes });
    if (!known) return Number.isNaN(serviceTime) ? undefined : serviceTime;
    return Number.isNaN(earliest) ? undefined : earliest;
  }

  /** `compute` as the annotation's value (RFC 3339), undefined when there is none. */
  annotation(serviceKey: string, service: Service, pods: readonly Pod[]): string | undefined {
    const t = this.compute(serviceKey, service, pods);
    return t === undefined ? undefined : formatTriggerTime(t);
  }

  forget(serviceKey: string): void {
    this.states.delete(serviceKey);
  }
}
