/**
 * The HorizontalPodAutoscaler sync (kube's HPA controller), level-based on a `namespace/name`
 * key, every I/O behind `deps` and the clock injected:
 *
 * 1. Read the target's `/scale` (AbleToScale False `FailedGetScale` when it cannot).
 * 2. A target at 0 replicas is left alone (`ScalingDisabled`); one outside min/max is brought
 *    back into range; otherwise every metric proposes a count (`_replicas.ts`), the largest wins
 *    (ScalingActive True `ValidMetricFound`), and failures set ScalingActive False with the
 *    metric's reason and a Warning event, as kube words them.
 * 3. The proposal is stabilized and limited (`_normalize.ts`); a change is written to `/scale`
 *    (`SuccessfulRescale` event, `lastScaleTime`).
 * 4. Status (current and desired replicas, current metrics, conditions) is written when it
 *    changed; the HPA comes back after the sync period (kube's 15 s).
 *
 * Only resource metrics (`metrics.k8s.io`) are served here; Pods, Object and External metrics
 * fail as on a cluster without a custom or external metrics API.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type {
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
} from "kubernetes-types/autoscaling/v2.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { matches, parseLabelSelector } from "../../api/labels.ts";
import { formatMilliQuantity, milliValue } from "../../api/quantity.ts";
import { splitKey } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/index.ts";
import {
  type HpaMemory,
  newMemory,
  normalizeReplicas,
  recordInitial,
  recordScale,
} from "./_normalize.ts";
import { HPA_DEFAULTS, MetricError, type PodSample, resourceReplicas } from "./_replicas.ts";

export const HPA = { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" } as const;

/** The part of an `autoscaling/v1` Scale the HPA reads and writes. */
export interface ScaleView {
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
  [key: string]: unknown;
}

export interface TargetRef {
  apiVersion?: string;
  kind: string;
  name: string;
}

export interface HpaDeps {
  getHpa(namespace: string, name: string): HorizontalPodAutoscaler | undefined;
  /** The target's `/scale`; throws with the API's message when it cannot be read. */
  getScale(namespace: string, ref: TargetRef): Promise<ScaleView>;
  updateScale(namespace: string, ref: TargetRef, scale: ScaleView): Promise<void>;
  listPods(namespace: string, matches: (labels: Record<string, string>) => boolean): Pod[];
  /** Usage of the namespace's running pods by name; throws when no resource metrics API serves. */
  podSamples(namespace: string): Promise<ReadonlyMap<string, PodSample>>;
  writeStatus(hpa: HorizontalPodAutoscaler): Promise<void>;
  event(
    hpa: HorizontalPodAutoscaler,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void;
  /** What the controller remembers of this HPA (recommendations, scale events). */
  memory(key: string): HpaMemory;
  forget(key: string): void;
  now(): number;
  options?: {
    syncPeriodMs?: number;
    downscaleStabilizationMs?: number;
    tolerance?: number;
    cpuInitializationPeriodMs?: number;
    delayOfInitialReadinessStatusMs?: number;
  };
}

export { newMemory };

const rfc3339 = (t: number) => `${new Date(t).toISOString().slice(0, 19)}Z`;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** v2's status as kube writes it: `currentMetrics` is not omitempty (null when none). */
type StatusOut = Omit<HorizontalPodAutoscalerStatus, "currentMetrics"> & {
  currentMetrics: MetricStatus[] | null;
};

type ConditionType = "AbleToScale" | "ScalingActive" | "ScalingLimited";

interface Proposal {
  replicas: number;
  name: string;
  status: MetricStatus;
}

/** The proposal of one metric; a `MetricError` names the condition reason. */
async function proposeFor(
  spec: MetricSpec,
  input: {
    namespace: string;
    currentReplicas: number;
    pods: () => Pod[];
    samples: () => Promise<ReadonlyMap<string, PodSample>>;
  },
  deps: HpaDeps,
): Promise<Proposal> {
  const source = spec.type === "Resource" ? spec.resource : spec.containerResource;
  if ((spec.type === "Resource" || spec.type === "ContainerResource") && source) {
    const container = spec.type === "ContainerResource" ? spec.containerResource?.container : "";
    const kind = spec.type === "Resource" ? "resource" : "container";
    const reason =
      spec.type === "Resource" ? "FailedGetResourceMetric" : "FailedGetContainerResourceMetric";
    const what = spec.type === "Resource" ? "resource" : "container";
    const resourceName = source.name;
    const t = source.target;
    const byValue = t.averageValue !== undefined && t.averageValue !== null;
    const fail = (inner: string) =>
      new MetricError(
        reason,
        `failed to get ${resourceName} ${what} metric value: ${inner}`,
        inner,
      );
    if (!byValue && (t.averageUtilization === undefined || t.averageUtilization === null)) {
      throw fail(
        "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set",
      );
    }
    const label = kind === "resource" ? "resource" : "container resource";
    try {
      let samples: ReadonlyMap<string, PodSample>;
      try {
        samples = await input.samples();
      } catch (e) {
        throw new Error(
          `unable to get metrics for resource ${resourceName}: unable to fetch metrics from resource metrics API: ${message(e)}`,
        );
      }
      const proposal = resourceReplicas(
        {
          currentReplicas: input.currentReplicas,
          pods: input.pods(),
          samples,
          target: {
            resource: resourceName,
            ...(container ? { container } : {}),
            ...(byValue
              ? { averageMilli: milliValue(t.averageValue as string) }
              : { utilization: t.averageUtilization as number }),
          },
        },
        { now: deps.now(), ...deps.options },
      );
      const current = byValue
        ? { averageValue: formatMilliQuantity(proposal.averageMilli) }
        : {
            averageUtilization: proposal.utilization ?? 0,
            averageValue: formatMilliQuantity(proposal.averageMilli),
          };
      const status: MetricStatus =
        spec.type === "Resource"
          ? { type: "Resource", resource: { name: resourceName, current } }
          : {
              type: "ContainerResource",
              containerResource: { name: resourceName, container: container ?? "", current },
            };
      return {
        replicas: proposal.replicas,
        name: byValue
          ? `${resourceName} ${label}`
          : `${resourceName} ${label} utilization (percentage of request)`,
        status,
      };
    } catch (e) {
      if (e instanceof MetricError) throw e;
      const inner = `failed to get ${resourceName} ${byValue ? "usage" : "utilization"}: ${message(e)}`;
      throw fail(inner);
    }
  }
  switch (spec.type) {
    case "Pods": {
      const inner = `unable to get metric ${spec.pods?.metric.name ?? ""}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered`;
      throw new MetricError(
        "FailedGetPodsMetric",
        `failed to get pods metric value: ${inner}`,
        inner,
      );
    }
    case "Object": {
      const inner = `unable to get metric ${spec.object?.metric.name ?? ""}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered`;
      throw new MetricError(
        "FailedGetObjectMetric",
        `failed to get object metric value: ${inner}`,
        inner,
      );
    }
    case "External": {
      const inner = `unable to get external metric ${input.namespace}/${spec.external?.metric.name ?? ""}/nil: unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered`;
      throw new MetricError(
        "FailedGetExternalMetric",
        `failed to get external metric value: ${inner}`,
        inner,
      );
    }
    default: {
      const inner = `unknown metric source type "${spec.type}"`;
      throw new MetricError("InvalidMetricSourceType", inner, inner);
    }
  }
}

export async function reconcileHpa(key: string, deps: HpaDeps): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const syncPeriodMs = deps.options?.syncPeriodMs ?? HPA_DEFAULTS.syncPeriodMs;
  const live = deps.getHpa(namespace, name);
  if (!live) {
    deps.forget(key);
    return {};
  }
  const hpa = structuredClone(live);
  const now = deps.now();
  const conditions: HorizontalPodAutoscalerCondition[] = structuredClone(
    live.status?.conditions ?? [],
  );
  const setCondition = (
    type: ConditionType,
    status: "True" | "False",
    reason: string,
    text: string,
  ) => {
    const existing = conditions.find((c) => c.type === type);
    const next = { type, status, reason, message: text };
    if (!existing) conditions.push({ ...next, lastTransitionTime: rfc3339(now) });
    else {
      if (existing.status !== status) existing.lastTransitionTime = rfc3339(now);
      Object.assign(existing, next);
    }
  };
  const event = (type: "Normal" | "Warning", reason: string, text: string) =>
    deps.event(hpa, type, reason, text);
  const writeStatus = async (status: StatusOut) => {
    const next = { ...status, conditions } as unknown as HorizontalPodAutoscalerStatus;
    if (isDeepStrictEqual(next, live.status ?? {})) return;
    await deps.writeStatus({ ...hpa, status: next });
  };
  const previous = (live.status ?? { desiredReplicas: 0 }) as StatusOut;
  const keepStatus = (
    currentReplicas: number | undefined,
    metrics: MetricStatus[] | null | undefined,
  ) => ({
    ...(currentReplicas ? { currentReplicas } : {}),
    desiredReplicas: previous.desiredReplicas ?? 0,
    ...(previous.lastScaleTime ? { lastScaleTime: previous.lastScaleTime } : {}),
    currentMetrics: metrics ?? previous.currentMetrics ?? null,
  });

  const ref: TargetRef = hpa.spec?.scaleTargetRef ?? { kind: "", name: "" };
  let scale: ScaleView;
  try {
    scale = await deps.getScale(namespace, ref);
  } catch (e) {
    setCondition(
      "AbleToScale",
      "False",
      "FailedGetScale",
      `the HPA controller was unable to get the target's current scale: ${message(e)}`,
    );
    event("Warning", "FailedGetScale", message(e));
    await writeStatus(keepStatus(previous.currentReplicas, undefined));
    return { requeueAfter: syncPeriodMs };
  }
  setCondition(
    "AbleToScale",
    "True",
    "SucceededGetScale",
    "the HPA controller was able to get the target's current scale",
  );
  const memory = deps.memory(key);
  const currentReplicas = scale.spec?.replicas ?? 0;
  recordInitial(memory, currentReplicas, now);
  const minReplicas = hpa.spec?.minReplicas ?? 1;
  const maxReplicas = hpa.spec?.maxReplicas ?? 0;

  let desired = 0;
  let rescaleReason = "";
  let metricStatuses: MetricStatus[] | null | undefined;
  let rescale = true;
  if (currentReplicas === 0 && minReplicas !== 0) {
    desired = 0;
    rescale = false;
    setCondition(
      "ScalingActive",
      "False",
      "ScalingDisabled",
      "scaling is disabled since the replica count of the target is zero",
    );
  } else if (currentReplicas > maxReplicas) {
    rescaleReason = "Current number of replicas above Spec.MaxReplicas";
    desired = maxReplicas;
  } else if (currentReplicas < minReplicas) {
    rescaleReason = "Current number of replicas below Spec.MinReplicas";
    desired = minReplicas;
  } else {
    const computed = await computeMetrics(hpa, { namespace, currentReplicas, scale }, deps, {
      setCondition,
      event,
    });
    metricStatuses = computed.statuses;
    if (computed.replicas === -1) {
      await writeStatus(keepStatus(currentReplicas, metricStatuses));
      event("Warning", "FailedComputeMetricsReplicas", computed.error ?? "");
      return { requeueAfter: syncPeriodMs };
    }
    let rescaleMetric = "";
    if (computed.replicas > desired) {
      desired = computed.replicas;
      rescaleMetric = computed.metric;
    }
    if (desired > currentReplicas) rescaleReason = `${rescaleMetric} above target`;
    if (desired < currentReplicas) rescaleReason = "All metrics below target";
    const normalized = normalizeReplicas(
      {
        currentReplicas,
        proposed: desired,
        minReplicas,
        maxReplicas,
        behavior: hpa.spec?.behavior,
      },
      memory,
      {
        now,
        downscaleStabilizationMs:
          deps.options?.downscaleStabilizationMs ?? HPA_DEFAULTS.downscaleStabilizationMs,
      },
    );
    setCondition(
      "AbleToScale",
      "True",
      normalized.ableToScale.reason,
      normalized.ableToScale.message,
    );
    setCondition(
      "ScalingLimited",
      normalized.limited ? "True" : "False",
      normalized.scalingLimited.reason,
      normalized.scalingLimited.message,
    );
    desired = normalized.replicas;
    rescale = desired !== currentReplicas;
  }

  let lastScaleTime = previous.lastScaleTime;
  if (rescale) {
    try {
      await deps.updateScale(namespace, ref, {
        ...scale,
        spec: { ...scale.spec, replicas: desired },
      });
    } catch (e) {
      event(
        "Warning",
        "FailedRescale",
        `New size: ${desired}; reason: ${rescaleReason}; error: ${message(e)}`,
      );
      setCondition(
        "AbleToScale",
        "False",
        "FailedUpdateScale",
        `the HPA controller was unable to update the target scale: ${message(e)}`,
      );
      await writeStatus(keepStatus(currentReplicas, metricStatuses));
      return { requeueAfter: syncPeriodMs };
    }
    setCondition(
      "AbleToScale",
      "True",
      "SucceededRescale",
      `the HPA controller was able to update the target scale to ${desired}`,
    );
    event("Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${rescaleReason}`);
    recordScale(memory, { from: currentReplicas, to: desired, behavior: hpa.spec?.behavior }, now);
    lastScaleTime = rfc3339(now);
  } else {
    desired = currentReplicas;
  }
  await writeStatus({
    ...(currentReplicas ? { currentReplicas } : {}),
    desiredReplicas: desired,
    ...(lastScaleTime ? { lastScaleTime } : {}),
    currentMetrics: metricStatuses ?? null,
  });
  return { requeueAfter: syncPeriodMs };
}

/** kube's computeReplicasForMetrics: the largest proposal, or -1 with the first error. */
async function computeMetrics(
  hpa: HorizontalPodAutoscaler,
  input: { namespace: string; currentReplicas: number; scale: ScaleView },
  deps: HpaDeps,
  report: {
    setCondition: (t: ConditionType, s: "True" | "False", reason: string, text: string) => void;
    event: (type: "Normal" | "Warning", reason: string, text: string) => void;
  },
): Promise<{ replicas: number; metric: string; statuses?: MetricStatus[]; error?: string }> {
  const selectorText = input.scale.status?.selector ?? "";
  if (selectorText === "") {
    report.event("Warning", "SelectorRequired", "selector is required");
    report.setCondition(
      "ScalingActive",
      "False",
      "InvalidSelector",
      "the HPA target's scale is missing a selector",
    );
    return { replicas: 0, metric: "" };
  }
  let selector: ReturnType<typeof parseLabelSelector>;
  try {
    selector = parseLabelSelector(selectorText);
  } catch (e) {
    const text = `couldn't convert selector into a corresponding internal selector object: ${message(e)}`;
    report.event("Warning", "InvalidSelector", text);
    report.setCondition("ScalingActive", "False", "InvalidSelector", text);
    return { replicas: 0, metric: "" };
  }
  const specs = hpa.spec?.metrics ?? [];
  const statuses: MetricStatus[] = specs.map(() => ({ type: "" }) as unknown as MetricStatus);
  let pods: Pod[] | undefined;
  let samples: Promise<ReadonlyMap<string, PodSample>> | undefined;
  const context = {
    namespace: input.namespace,
    currentReplicas: input.currentReplicas,
    pods: () => {
      pods ??= deps.listPods(input.namespace, (labels) => matches(selector, labels));
      return pods;
    },
    samples: () => {
      samples ??= deps.podSamples(input.namespace);
      return samples;
    },
  };
  let replicas = 0;
  let metric = "";
  let invalid = 0;
  let first: MetricError | undefined;
  for (const [i, spec] of specs.entries()) {
    try {
      const proposal = await proposeFor(spec, context, deps);
      statuses[i] = proposal.status;
      if (replicas === 0 || proposal.replicas > replicas) {
        replicas = proposal.replicas;
        metric = proposal.name;
      }
    } catch (e) {
      const err =
        e instanceof MetricError
          ? e
          : new MetricError("FailedGetResourceMetric", message(e), message(e));
      report.event("Warning", err.reason, err.inner);
      if (!first) first = err;
      invalid++;
    }
  }
  if (first && (invalid >= specs.length || replicas < (input.scale.spec?.replicas ?? 0))) {
    report.setCondition(
      "ScalingActive",
      "False",
      first.reason,
      `the HPA was unable to compute the replica count: ${first.inner}`,
    );
    return {
      replicas: -1,
      metric: "",
      statuses,
      error: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${first.message}`,
    };
  }
  report.setCondition(
    "ScalingActive",
    "True",
    "ValidMetricFound",
    `the HPA was able to successfully calculate a replica count from ${metric}`,
  );
  return { replicas, metric, statuses };
}
