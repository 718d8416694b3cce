/**
 * kube's replica calculator for resource metrics (`pkg/controller/podautoscaler/
 * replica_calculator.go`'s behaviour), pure: pods, their measured usage and a target in, a
 * replica count out, or a `MetricError` with kube's wording.
 *
 * - Pods are grouped first: deleted or Failed pods are ignored; Pending ones are unready; for CPU,
 *   a pod still in its initialisation period (5 min from its start) whose sample is not a whole
 *   window after it became Ready, or that is not Ready, is unready, and after that period a pod
 *   that was never Ready is; pods without a sample are missing.
 * - The usage ratio is total usage over total requests (Utilization) or the average over the
 *   target (AverageValue), of the ready pods with samples. Within the tolerance (10 %) nothing
 *   changes; otherwise the proposal is ceil(ratio × ready pods).
 * - With missing pods or (for a scale-up) unready ones, the ratio is recomputed as kube does:
 *   missing pods count as using 100 % of their request (or the target, if higher) on a scale-down
 *   and nothing on a scale-up, unready pods as nothing; if that flips the direction or falls
 *   within the tolerance, the count stays.
 *
 * Usage is in thousandths of the unit (millicores, millibytes), as kube's `MilliValue()`.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { milliValue } from "../../api/quantity.ts";

/** kube-controller-manager's defaults for the HPA flags this module uses. */
export const HPA_DEFAULTS = {
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  delayOfInitialReadinessStatusMs: 30_000,
  downscaleStabilizationMs: 5 * 60_000,
  syncPeriodMs: 15_000,
} as const;

/**
 * A metric that could not propose a count: `reason` is the condition's and the event's reason,
 * `inner` the cause as the condition and event word it, `message` the whole chain.
 */
export class MetricError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly inner: string = message,
  ) {
    super(message);
  }
}

/** One pod's measured usage: per container, in thousandths (millicores, millibytes). */
export interface PodSample {
  timestampMs: number;
  windowMs: number;
  containers: ReadonlyArray<{ name: string; usage: Readonly<Record<string, number>> }>;
}

export interface ResourceTarget {
  resource: string;
  /** Only this container counts (a ContainerResource metric). */
  container?: string;
  /** Percent of the pods' requests, or an average value in thousandths. */
  utilization?: number;
  averageMilli?: number;
}

export interface ResourceProposal {
  replicas: number;
  /** The current utilization (percent of requests), Utilization targets only. */
  utilization?: number;
  /** The current average usage per pod, in thousandths. */
  averageMilli: number;
}

export interface CalculatorOptions {
  now: number;
  tolerance?: number;
  cpuInitializationPeriodMs?: number;
  delayOfInitialReadinessStatusMs?: number;
}

const time = (s: string | undefined) => (s ? Date.parse(s) : Number.NaN);

type Group = "ready" | "unready" | "missing" | "ignored";

function groupOf(pod: Pod, sample: PodSample | undefined, resource: string, o: CalculatorOptions) {
  const phase = pod.status?.phase;
  if (pod.metadata?.deletionTimestamp || phase === "Failed") return "ignored";
  if (phase === "Pending") return "unready";
  if (!sample) return "missing";
  if (resource !== "cpu") return "ready";
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  const start = time(pod.status?.startTime);
  if (!ready || Number.isNaN(start)) return "unready";
  const transition = time(ready.lastTransitionTime);
  const initPeriod = o.cpuInitializationPeriodMs ?? HPA_DEFAULTS.cpuInitializationPeriodMs;
  if (start + initPeriod > o.now) {
    // In its initialisation period: a sample must cover a whole window after it became Ready.
    const early = !(sample.timestampMs >= transition + sample.windowMs);
    return ready.status === "False" || early ? "unready" : "ready";
  }
  const delay = o.delayOfInitialReadinessStatusMs ?? HPA_DEFAULTS.delayOfInitialReadinessStatusMs;
  return ready.status === "False" && start + delay > transition ? "unready" : "ready";
}

/** Each pod's request of `resource` (summed over its containers, or the one container). */
function podRequests(pods: readonly Pod[], target: ResourceTarget): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let total = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (target.container !== undefined && c.name !== target.container) continue;
      const request = c.resources?.requests?.[target.resource];
      if (request === undefined) {
        throw new Error(
          `missing request for ${target.resource} in container ${c.name} of Pod ${pod.metadata?.name ?? ""}`,
        );
      }
      total += milliValue(request);
    }
    out.set(pod.metadata?.name ?? "", total);
  }
  return out;
}

/** A pod's usage of the resource (its containers summed, or the one container); undefined: none. */
function usageOf(sample: PodSample, target: ResourceTarget): number | undefined {
  let total = 0;
  let found = false;
  for (const c of sample.containers) {
    if (target.container !== undefined && c.name !== target.container) continue;
    const v = c.usage[target.resource];
    if (v === undefined) continue;
    total += v;
    found = true;
  }
  return found ? total : undefined;
}

interface Ratio {
  ratio: number;
  utilization?: number;
  averageMilli: number;
}

function ratioOf(
  usage: ReadonlyMap<string, number>,
  requests: ReadonlyMap<string, number>,
  target: ResourceTarget,
): Ratio {
  if (target.utilization !== undefined) {
    let used = 0;
    let requested = 0;
    let n = 0;
    for (const [name, value] of usage) {
      const request = requests.get(name);
      if (request === undefined) continue;
      used += value;
      requested += request;
      n++;
    }
    if (requested === 0) throw new Error("no metrics returned matched known pods");
    const utilization = Math.trunc((used * 100) / requested);
    return {
      ratio: utilization / target.utilization,
      utilization,
      averageMilli: Math.trunc(used / n),
    };
  }
  let used = 0;
  for (const value of usage.values()) used += value;
  const averageMilli = Math.trunc(used / usage.size);
  return { ratio: averageMilli / (target.averageMilli ?? 1), averageMilli };
}

/**
 * The replica count a resource metric proposes for `currentReplicas`, with the current figures.
 * Throws an `Error` with kube's message (the caller wraps it as a `MetricError`).
 */
export function resourceReplicas(
  input: {
    currentReplicas: number;
    pods: readonly Pod[];
    samples: ReadonlyMap<string, PodSample>;
    target: ResourceTarget;
  },
  options: CalculatorOptions,
): ResourceProposal {
  const { currentReplicas, pods, samples, target } = input;
  const tolerance = options.tolerance ?? HPA_DEFAULTS.tolerance;
  const usage = new Map<string, number>();
  for (const pod of pods) {
    const sample = samples.get(pod.metadata?.name ?? "");
    const value = sample ? usageOf(sample, target) : undefined;
    if (value !== undefined) usage.set(pod.metadata?.name ?? "", value);
  }
  if (usage.size === 0) {
    throw new Error(
      `unable to get metrics for resource ${target.resource}: no metrics returned from resource metrics API`,
    );
  }
  if (pods.length === 0) {
    throw new Error("no pods returned by selector while calculating replica count");
  }
  const groups = new Map<Group, string[]>([
    ["ready", []],
    ["unready", []],
    ["missing", []],
    ["ignored", []],
  ]);
  for (const pod of pods) {
    const name = pod.metadata?.name ?? "";
    const hasUsage = usage.has(name);
    const group = groupOf(pod, hasUsage ? samples.get(name) : undefined, target.resource, options);
    groups.get(group)?.push(name);
  }
  const unready = groups.get("unready") ?? [];
  const missing = groups.get("missing") ?? [];
  for (const name of [...(groups.get("ignored") ?? []), ...unready]) usage.delete(name);
  if (usage.size === 0) {
    throw new Error("did not receive metrics for targeted pods (pods might be unready)");
  }
  const requests =
    target.utilization !== undefined ? podRequests(pods, target) : new Map<string, number>();
  const first = ratioOf(usage, requests, target);
  const current = { utilization: first.utilization, averageMilli: first.averageMilli };
  const keep = (): ResourceProposal => withFigures(currentReplicas, current);

  const scaleUpWithUnready = unready.length > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return keep();
    return withFigures(Math.ceil(first.ratio * (groups.get("ready")?.length ?? 0)), current);
  }
  if (first.ratio < 1) {
    for (const name of missing) usage.set(name, fallbackUsage(name, requests, target));
  } else if (first.ratio > 1) {
    for (const name of missing) usage.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of unready) usage.set(name, 0);
  const second = ratioOf(usage, requests, target);
  if (
    Math.abs(1 - second.ratio) <= tolerance ||
    (first.ratio < 1 && second.ratio > 1) ||
    (first.ratio > 1 && second.ratio < 1)
  ) {
    return keep();
  }
  const replicas = Math.ceil(second.ratio * usage.size);
  if (
    (second.ratio < 1 && replicas > currentReplicas) ||
    (second.ratio > 1 && replicas < currentReplicas)
  ) {
    return keep();
  }
  return withFigures(replicas, current);
}

/** What a missing pod is taken to use on a scale-down: its request at max(100 %, target). */
function fallbackUsage(
  name: string,
  requests: ReadonlyMap<string, number>,
  target: ResourceTarget,
): number {
  if (target.utilization !== undefined) {
    return Math.trunc(((requests.get(name) ?? 0) * Math.max(100, target.utilization)) / 100);
  }
  return target.averageMilli ?? 0;
}

function withFigures(
  replicas: number,
  figures: { utilization: number | undefined; averageMilli: number },
): ResourceProposal {
  return figures.utilization === undefined
    ? { replicas, averageMilli: figures.averageMilli }
    : { replicas, utilization: figures.utilization, averageMilli: figures.averageMilli };
}
